package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"golang.org/x/sys/unix"
)

// TestSpareInit checks that a start taking a spare init (made after the
// first start) runs the function just as a fresh init does: isolated, with
// its stdout, stderr and ready pipe at the right fds and nothing else open.
func TestSpareInit(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.Spares = 1 })
	t.Parallel()
	for i, id := range []string{"spare-1", "spare-2"} {
		sparePid := 0
		if i == 1 {
			waitSpare(t, s)
			sp := <-s.spares
			sparePid = sp.cmd.Process.Pid
			s.spares <- sp
		}
		l := launch(t, id, hostBundle(t), "probe", itoa(os.Getpid()), "/tmp/probe")
		l.Dir = "/home/app"
		r, pid := runPipedProbe(t, s, l)
		checkCommon(t, r, id)
		if i == 1 && pid != sparePid {
			t.Errorf("second start ran as pid %d, not in the spare init %d", pid, sparePid)
		}
	}
	if len(s.spares) != 0 {
		waitSpare(t, s) // the refill after the second start must work too
	}
}

// waitSpare polls until the sandbox holds a spare init.
func waitSpare(t *testing.T, s *Sandbox) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.spares) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no spare init made")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runPipedProbe is runProbe with stdout and stderr going to pipes, as the
// process runtime sends them (only such launches can use a spare).
func runPipedProbe(t *testing.T, s *Sandbox, l process.Launch) (probeReport, int) {
	t.Helper()
	out, pid := runPiped(t, s, l)
	var r probeReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decode probe output %q: %v", out, err)
	}
	return r, pid
}

// runPiped starts l with its output and fd 3 on pipes, waits for a zero exit,
// checks that fd 3 got "ready" and returns the output and the pid.
func runPiped(t *testing.T, s *Sandbox, l process.Launch) ([]byte, int) {
	t.Helper()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	l.ExtraFiles, l.Stdout, l.Stderr = []*os.File{readyW}, outW, outW
	p := start(t, s, l)
	readyW.Close()
	outW.Close()
	ready, _ := io.ReadAll(readyR)
	out, _ := io.ReadAll(outR)
	if info, err := p.Wait(); err != nil || info.Code != 0 {
		t.Fatalf("exit %+v, %v; output: %s", info, err, out)
	}
	if string(ready) != "ready" {
		t.Errorf("fd 3 ready pipe got %q, want ready", ready)
	}
	return out, p.Pid()
}

// TestSpareCapabilities checks that a spare init starts with an empty
// bounding set and the daemon's permitted capabilities (handed over as
// inheritable ones), so it has no bounding set to drop thread by thread.
func TestSpareCapabilities(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.Spares = 1 })
	t.Parallel()
	s.refill()
	waitSpare(t, s)
	sp := <-s.spares
	defer sp.kill()
	ours, theirs := procStatus(t, os.Getpid()), procStatus(t, sp.cmd.Process.Pid)
	if theirs["CapBnd"] != "0000000000000000" {
		t.Errorf("spare bounding set %s, want empty", theirs["CapBnd"])
	}
	for _, k := range []string{"CapPrm", "CapEff"} {
		if theirs[k] != ours["CapPrm"] {
			t.Errorf("spare %s %s, want the daemon's permitted set %s", k, theirs[k], ours["CapPrm"])
		}
	}
}

// TestSpareNotReleased checks that a spare init given its spec runs nothing
// until the daemon releases it once it is in the replica's cgroup: closing
// the socket instead fails the start and the function never signals ready.
func TestSpareNotReleased(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.Spares = 1 })
	t.Parallel()
	s.refill()
	waitSpare(t, s)
	sp := <-s.spares
	defer sp.kill()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	l := launch(t, "unreleased", hostBundle(t), "probe", itoa(os.Getpid()), "/tmp/probe")
	l.ExtraFiles, l.Stdout, l.Stderr = []*os.File{readyW}, outW, outW
	spec, err := s.spec(l)
	if err != nil {
		t.Fatal(err)
	}
	spec.Gated = true
	if err := sp.send(spec, l); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	sp.sock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = waitInit(ctx, sp.errR)
	if err == nil || !strings.Contains(err.Error(), "cgroup") {
		t.Errorf("start of an unreleased spare: %v, want an error about the cgroup", err)
	}
	if out, _ := io.ReadAll(readyR); len(out) != 0 {
		t.Errorf("the function ran without a release; its ready pipe got %q", out)
	}
}

// TestTakeWaitsForSpareBeingMade checks that a start finding no spare waiting
// takes the one being made instead of starting a second init beside it.
func TestTakeWaitsForSpareBeingMade(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.Spares = 1 })
	t.Parallel()
	s.refill()
	s.spareMu.Lock()
	making := s.making
	s.spareMu.Unlock()
	if making == nil {
		t.Fatal("refill made no spare")
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	l := process.Launch{Stdout: outW, Stderr: outW}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sp := s.takeSpare(ctx, l)
	if sp == nil {
		t.Fatal("no spare taken")
	}
	defer sp.kill()
	if sp != making {
		t.Error("took another spare than the one being made")
	}
}

// procStatus reads the "Key:\tvalue" lines of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// TestStartPhasesLogged checks that with debug logging a start logs its steps,
// the init's own among them, and that the probe still runs as usual.
func TestStartPhasesLogged(t *testing.T) {
	var buf lockedBuffer
	s := newTestSandbox(t, func(c *Config) {
		c.Spares = 1
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	t.Parallel()
	for i, id := range []string{"phases-1", "phases-2"} {
		if i == 1 {
			waitSpare(t, s)
		}
		l := launch(t, id, hostBundle(t), "probe", itoa(os.Getpid()), "/tmp/probe")
		l.Dir = "/home/app"
		r, _ := runPipedProbe(t, s, l)
		checkCommon(t, r, id)
	}
	for _, want := range []string{
		`replica=phases-1 spare=false phases="cgroup=`,
		`replica=phases-2 spare=true phases="spare=`,
		"init[",
		" root=",
		" privileges=",
		"] started=",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("debug log lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestSplitTrace(t *testing.T) {
	for _, c := range []struct{ in, trace, rest string }{
		{"", "", ""},
		{"exec x: not found", "", "exec x: not found"},
		{traceMark + "root=1ms gate=2µs\n", "root=1ms gate=2µs", ""},
		{traceMark + "root=1ms\nexec x: not found", "root=1ms", "exec x: not found"},
	} {
		trace, rest := splitTrace([]byte(c.in))
		if trace != c.trace || string(rest) != c.rest {
			t.Errorf("splitTrace(%q) = %q, %q; want %q, %q", c.in, trace, rest, c.trace, c.rest)
		}
	}
}

func TestThreadsAtNice(t *testing.T) {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	nice := 20 - prio // the raw syscall returns 20 - nice
	if !threadsAtNice(nice) {
		t.Errorf("threads not all at nice %d", nice)
	}
	if threadsAtNice(nice + 1) {
		t.Errorf("threads reported at nice %d", nice+1)
	}
}
