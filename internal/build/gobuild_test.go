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
	"slices"
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

// TestBuildUpstreamStyleGoTemplate uses a ./template in the OpenFaaS layout:
// go.mod and main.go at the top, ENV in a Dockerfile.
func TestBuildUpstreamStyleGoTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go program")
	}
	tdir := t.TempDir()
	files := map[string]string{
		"gomw/template.yml":        "language: gomw\nfprocess: ./handler\n",
		"gomw/Dockerfile":          "FROM golang AS build\nENV CGO_ENABLED=0\nFROM alpine\nENV fprocess=\"./handler\" mode=\"http\"\nENV upstream_url=\"http://127.0.0.1:8082\"\n",
		"gomw/go.mod":              "module handler\n\ngo 1.22\n\nrequire handler/function v0.0.0-00010101000000-000000000000\n\nreplace handler/function => ./function\n",
		"gomw/main.go":             "package main\n\nimport (\n\t\"net/http\"\n\n\tfunction \"handler/function\"\n)\n\nfunc main() { _ = http.ListenAndServe(\":8082\", http.HandlerFunc(function.Handle)) }\n",
		"gomw/function/go.mod":     "module handler/function\n\ngo 1.22\n",
		"gomw/function/handler.go": "package function\n\nimport \"net/http\"\n\nfunc Handle(w http.ResponseWriter, r *http.Request) {}\n",
	}
	for name, body := range files {
		p := filepath.Join(tdir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	dest := filepath.Join(t.TempDir(), "fn")
	if err := NewFunction("gomw", "fn", dest, tdir); err != nil {
		t.Fatal(err)
	}
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "gomw", Handler: dest, TemplateDir: tdir})
	if err != nil {
		t.Fatal(err)
	}
	if len(layerFiles(t, img)["home/app/handler"]) == 0 {
		t.Fatal("no compiled handler in the image")
	}
	cf, _ := img.ConfigFile()
	want := []string{"fprocess=./handler", "mode=http", "upstream_url=http://127.0.0.1:8082"}
	if !slices.Equal(cf.Config.Env, want) {
		t.Fatalf("env %v, want %v", cf.Config.Env, want)
	}
}
