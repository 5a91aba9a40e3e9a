package sandbox

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/testenv"
)

// TestSpareCgroup checks, on cgroup v1, that a spare init waits in a cgroup
// of its own, that the start taking it turns that cgroup into the replica's
// (limits, name, usage, OOM detection, removal), and that spare cgroups go
// with Close and with the stale sweep of a later daemon.
func TestSpareCgroup(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.Spares = 1 })
	requireLimits(t, s)
	if _, ok := s.cg.(spareDriver); !ok {
		testenv.Need(t, false, "spare cgroups need cgroup v1")
	}
	t.Parallel()
	b := hostBundle(t)
	startFiled := func(id string, limits runtime.Resources, args ...string) (process.Process, int) {
		t.Helper()
		l := launch(t, id, b, args...)
		l.Dir = "/home/app"
		l.Limits = limits
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		l.Stdout, l.Stderr = null, null
		sparePid := 0
		if sp := s.peekSpare(t); sp != nil {
			sparePid = sp.cmd.Process.Pid
		}
		p := start(t, s, l)
		return p, sparePid
	}

	// The first start makes the spare; it waits in a ".spare-" cgroup.
	startFiled("first", runtime.Resources{}, "sleep")
	waitSpare(t, s)
	sp := s.peekSpare(t)
	if cg := memoryCgroupOf(t, sp.cmd.Process.Pid); !strings.HasPrefix(filepath.Base(cg), spareCgroupPrefix) {
		t.Fatalf("spare init %d is in memory cgroup %q, want one named %s*", sp.cmd.Process.Pid, cg, spareCgroupPrefix)
	}
	spareName := filepath.Base(memoryCgroupOf(t, sp.cmd.Process.Pid))

	// Taking it: the cgroup is renamed to the replica and has its limits.
	p, sparePid := startFiled("adopted", runtime.Resources{MemoryBytes: 48 << 20, CPUMilli: 300}, "sleep")
	if p.Pid() != sparePid {
		t.Fatalf("replica runs as pid %d, not in the spare %d", p.Pid(), sparePid)
	}
	want := "/" + s.cfg.CgroupPrefix + "/adopted"
	if cg := memoryCgroupOf(t, p.Pid()); cg != want {
		t.Errorf("replica in memory cgroup %q, want %q", cg, want)
	}
	for _, c := range v1Controllers {
		if _, err := os.Stat(filepath.Join(s.cfg.CgroupRoot, c, s.cfg.CgroupPrefix, spareName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("spare cgroup %s still in %s after the start (%v)", spareName, c, err)
		}
	}
	g := s.cg.load("adopted").(*v1Group)
	checkFile(t, filepath.Join(g.dir("memory"), "memory.limit_in_bytes"), "50331648")
	checkFile(t, filepath.Join(g.dir("cpu"), "cpu.cfs_quota_us"), "30000")
	checkFile(t, filepath.Join(g.dir("pids"), "pids.max"), itoa(int(s.cfg.PidsLimit)))
	if _, mem, err := p.Usage(); err != nil || mem <= 0 {
		t.Errorf("usage of the adopted cgroup: %d bytes, %v", mem, err)
	}
	_ = p.Signal(syscall.SIGKILL)
	_, _ = p.Wait()
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	assertNoCgroup(t, s, "adopted")

	// A hog started from a spare is OOM killed and reported so.
	waitSpare(t, s)
	hog, sparePid := startFiled("hog", runtime.Resources{MemoryBytes: 64 << 20}, "hog")
	if hog.Pid() != sparePid {
		t.Fatalf("hog runs as pid %d, not in the spare %d", hog.Pid(), sparePid)
	}
	done := make(chan process.ExitInfo, 1)
	go func() { info, _ := hog.Wait(); done <- info }()
	select {
	case info := <-done:
		if !info.OOMKilled {
			t.Errorf("hog exit %+v, want OOM killed", info)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("memory hog still running after 20s")
	}

	// A later daemon's stale sweep removes a spare's cgroup and kills it.
	waitSpare(t, s)
	sp = s.peekSpare(t)
	spareName = filepath.Base(memoryCgroupOf(t, sp.cmd.Process.Pid))
	later, err := New(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := later.CleanupStale(context.Background()); err != nil {
		t.Fatalf("CleanupStale: %v", err)
	}
	assertNoCgroup(t, s, spareName)

	// Close removes the spare cgroup of the spare it kills.
	(<-s.spares).kill()
	s.refill()
	waitSpare(t, s)
	spareName = filepath.Base(memoryCgroupOf(t, s.peekSpare(t).cmd.Process.Pid))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoCgroup(t, s, spareName)
}

// peekSpare returns the waiting spare, leaving it queued, or nil.
func (s *Sandbox) peekSpare(t *testing.T) *spare {
	t.Helper()
	select {
	case sp := <-s.spares:
		s.spares <- sp
		return sp
	default:
		return nil
	}
}

// memoryCgroupOf is pid's path in the v1 memory hierarchy.
func memoryCgroupOf(t *testing.T, pid int) string {
	t.Helper()
	f, err := os.Open(filepath.Join("/proc", itoa(pid), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if parts := strings.SplitN(sc.Text(), ":", 3); len(parts) == 3 && parts[1] == "memory" {
			return parts[2]
		}
	}
	t.Fatalf("pid %d has no memory cgroup", pid)
	return ""
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); err != nil || got != want {
		t.Errorf("%s = %q (%v), want %q", path, got, err, want)
	}
}
