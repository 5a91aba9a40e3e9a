package build

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildGoModuleRuns builds a handler that has its own go.mod, then runs
// the compiled server and calls it.
func TestBuildGoModuleRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go program")
	}
	dir := newHandler(t, "go")
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fn\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "handler.go"), []byte(`package function

import "net/http"

func Handle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte("from module " + r.URL.Path))
}
`), 0o644)
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "go", Handler: dir})
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "handler")
	if err := os.WriteFile(bin, []byte(layerFiles(t, img)["home/app/handler"]), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d/hi", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTeapot || string(b) != "from module /hi" {
				t.Fatalf("got %d %q", resp.StatusCode, b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
