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

// TestHelperWriter is run as a child process by TestSurvivesKill9: it writes one
// function and one secret, says "written" and waits to be killed.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv("FJORD_STORE_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestSurvivesKill9")
	}
	s, err := Open(filepath.Join(dir, "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateFunction(ctx, record(api.DefaultNamespace, "survivor")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSecret(ctx, api.DefaultNamespace, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("written\n")
	select {} // killed by the parent without a chance to close the file
}

func TestSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
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
