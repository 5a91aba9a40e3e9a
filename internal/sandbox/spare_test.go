package sandbox

import (
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime/process"
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
