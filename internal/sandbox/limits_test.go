package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

func itoa(n int) string { return strconv.Itoa(n) }

func TestMemoryLimitOOMKills(t *testing.T) {
	s := newTestSandbox(t, nil)
	requireLimits(t, s)
	t.Parallel()
	b := hostBundle(t)
	neighbour := launch(t, "oom-neighbour", b, "sleep")
	neighbour.Dir = "/home/app"
	np := start(t, s, neighbour)

	l := launch(t, "oom-hog", b, "hog")
	l.Dir = "/home/app"
	l.Limits = runtime.Resources{MemoryBytes: 64 << 20}
	p := start(t, s, l)
	done := make(chan struct{})
	var info struct {
		code, sig int
		oom       bool
		err       error
	}
	go func() {
		defer close(done)
		ei, err := p.Wait()
		info.code, info.sig, info.oom, info.err = ei.Code, ei.Signal, ei.OOMKilled, err
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("memory hog still running after 20s")
	}
	if info.err != nil || !info.oom || info.sig != int(syscall.SIGKILL) {
		t.Errorf("hog exit code=%d signal=%d oom=%v err=%v; want OOM kill", info.code, info.sig, info.oom, info.err)
	}
	if err := np.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("neighbour died with the hog: %v", err)
	}
}

func TestCPUQuota(t *testing.T) {
	s := newTestSandbox(t, nil)
	requireLimits(t, s)
	t.Parallel()
	l := launch(t, "cpu-spin", hostBundle(t), "spin")
	l.Dir = "/home/app"
	l.Limits = runtime.Resources{CPUMilli: 200}
	p := start(t, s, l)
	time.Sleep(300 * time.Millisecond) // let it start spinning
	cpu0, _, err := p.Usage()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(3 * time.Second) // the measurement window
	cpu1, mem, err := p.Usage()
	if err != nil {
		t.Fatal(err)
	}
	cores := (cpu1 - cpu0) / time.Since(t0).Seconds()
	t.Logf("spinner under 200m used %.3f cores, memory %d bytes", cores, mem)
	if cores > 0.3 || cores < 0.02 {
		t.Errorf("spinner used %.3f cores, want about 0.2 (≤ 0.3)", cores)
	}
	if mem <= 0 {
		t.Errorf("memory usage %d, want > 0", mem)
	}
}

func TestCleanupLeavesNothing(t *testing.T) {
	s := newTestSandbox(t, nil)
	requireLimits(t, s)
	t.Parallel()
	l := launch(t, "leak-1", hostBundle(t), "sleep")
	l.Dir = "/home/app"
	p, err := s.Start(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	// Cleanup without a prior Signal: it must kill what is left itself.
	if err := p.Cleanup(); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	info, err := p.Wait()
	if err != nil || info.Signal != int(syscall.SIGKILL) {
		t.Errorf("after Cleanup: %+v %v, want killed", info, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists: %v", pid, err)
	}
	assertNoCgroup(t, s, "leak-1")
	if _, err := os.Stat(l.WorkDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir left: %v", err)
	}
}

func TestCleanupStale(t *testing.T) {
	work := t.TempDir()
	s := newTestSandbox(t, func(c *Config) { c.WorkRoot = work })
	requireLimits(t, s)
	t.Parallel()
	// Plant what a killed daemon leaves: a replica cgroup with a live process
	// and a work dir.
	g, err := s.cg.create("stale-1", runtime.Resources{MemoryBytes: 32 << 20}, 10)
	if err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()
	if err := g.add(sleeper.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, "stale-1", "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.CleanupStale(context.Background()); err != nil {
		t.Fatalf("CleanupStale: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Error("stale process not killed")
	}
	assertNoCgroup(t, s, "stale-1")
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("work root not emptied: %d entries", len(entries))
	}
}

// assertNoCgroup fails when any hierarchy still has the replica's cgroup.
func assertNoCgroup(t *testing.T, s *Sandbox, id string) {
	t.Helper()
	dirs := []string{filepath.Join(s.cfg.CgroupRoot, s.cfg.CgroupPrefix, id)}
	for _, c := range v1Controllers {
		dirs = append(dirs, filepath.Join(s.cfg.CgroupRoot, c, s.cfg.CgroupPrefix, id))
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left behind (%v)", d, err)
		}
	}
}
