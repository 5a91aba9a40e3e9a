package store

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
)

// TestMain turns the test binary into the crash writer when TestSurvivesKill9
// starts it with FJORD_STORE_CRASH_DIR set.
func TestMain(m *testing.M) {
	if dir := os.Getenv("FJORD_STORE_CRASH_DIR"); dir != "" {
		crashWriter(dir)
		return
	}
	os.Exit(m.Run())
}

// crashWriter writes one function and one secret, says "written" and waits to
// be killed without a chance to close the file.
func crashWriter(dir string) {
	s, err := Open(filepath.Join(dir, "state.db"), Options{})
	if err == nil {
		ctx := context.Background()
		err = s.CreateFunction(ctx, record(api.DefaultNamespace, "survivor"))
		if err == nil {
			err = s.CreateSecret(ctx, api.DefaultNamespace, "k", []byte("v"))
		}
	}
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString("written\n")
	select {}
}

func TestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FJORD_STORE_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "written\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("helper said %q: %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := openTemp(t, dir)
	defer s.Close()
	ctx := context.Background()
	if _, err := s.GetFunction(ctx, api.DefaultNamespace, "survivor"); err != nil {
		t.Fatalf("function lost after kill -9: %v", err)
	}
	if v, err := s.GetSecret(ctx, api.DefaultNamespace, "k"); err != nil || string(v) != "v" {
		t.Fatalf("secret lost after kill -9: %q %v", v, err)
	}
}
