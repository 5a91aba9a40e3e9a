package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/testenv"
)

// TestMain doubles as the sandbox init: the sandbox re-executes the test
// binary with InitCommand, as the daemon re-executes itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitCommand {
		// Init returns only after a failed start or an in-process run.
		if err := Init(context.Background(), os.Args[2:], testRunner); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	code := m.Run()
	if probeBuild.path != "" {
		os.RemoveAll(filepath.Dir(probeBuild.path))
	}
	os.Exit(code)
}

var probeBuild struct {
	once sync.Once
	path string
	err  error
}

// probeBinary builds testdata/probe once, static, into a temp dir.
func probeBinary(t *testing.T) string {
	t.Helper()
	probeBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "fjord-probe-")
		if err != nil {
			probeBuild.err = err
			return
		}
		probeBuild.path = filepath.Join(dir, "probe")
		goBin := filepath.Join(goruntime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-o", probeBuild.path, "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeBuild.err = fmt.Errorf("build probe: %v: %s", err, out)
		}
	})
	if probeBuild.err != nil {
		t.Fatal(probeBuild.err)
	}
	return probeBuild.path
}

// newTestSandbox returns a sandbox with its own cgroup prefix (removed at the
// end), or skips when not root.
func newTestSandbox(t *testing.T, mutate func(*Config)) *Sandbox {
	t.Helper()
	testenv.NeedRoot(t)
	cfg := Default()
	cfg.CgroupPrefix = fmt.Sprintf("fjordtest-%d-%s", os.Getpid(), filepath.Base(t.Name()))
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		for _, c := range v1Controllers {
			_ = os.Remove(filepath.Join(cfg.CgroupRoot, c, cfg.CgroupPrefix))
		}
		_ = os.Remove(filepath.Join(cfg.CgroupRoot, cfg.CgroupPrefix))
	})
	return s
}

// requireLimits skips when the sandbox cannot enforce cgroup limits here.
func requireLimits(t *testing.T, s *Sandbox) {
	t.Helper()
	c := s.Capabilities()
	testenv.Need(t, c.LimitsEnforced, "cgroup limits unavailable: "+c.LimitsReason)
}

// hostBundle makes a host-runtime bundle whose working dir holds the probe.
func hostBundle(t *testing.T) image.Bundle {
	t.Helper()
	root := t.TempDir()
	app := filepath.Join(root, "home", "app")
	copyFile(t, probeBinary(t), filepath.Join(app, "probe"))
	return image.Bundle{RootFS: root, WorkingDir: "/home/app", HostRuntime: true}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// launch fills the common fields of a Launch for the probe.
func launch(t *testing.T, id string, b image.Bundle, args ...string) process.Launch {
	path := "/home/app/probe"
	if !b.HostRuntime {
		path = "/probe"
	}
	return process.Launch{
		ReplicaID: id,
		Bundle:    b,
		Path:      path,
		Args:      append([]string{"probe"}, args...),
		Env:       []string{"PATH=/usr/bin:/bin"},
		WorkDir:   filepath.Join(t.TempDir(), "replicas", id),
		Stderr:    &lockedBuffer{},
	}
}

// start starts l and registers its cleanup.
func start(t *testing.T, s *Sandbox, l process.Launch) process.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := s.Start(ctx, l)
	if err != nil {
		t.Fatalf("Start %s: %v", l.ReplicaID, err)
	}
	t.Cleanup(func() {
		_ = p.Signal(os.Kill)
		_, _ = p.Wait()
		_ = p.Cleanup()
	})
	return p
}

// lockedBuffer is an io.Writer safe for the copy goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
