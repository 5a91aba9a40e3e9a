package process

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// runTestDaemon is the body of the test binary re-executed as a daemon: it
// starts one replica, prints "pid N" and waits to be killed.
func runTestDaemon(dir, watchdog string) {
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(dir+"/home/app", 0o755); err != nil {
		fail(err)
	}
	imgs := &fakeImages{root: dir, n: map[string]int{}, fail: map[string]error{}}
	rt, err := New(Config{StateDir: dir, Watchdog: []string{watchdog}, Images: imgs})
	if err != nil {
		fail(err)
	}
	ready := make(chan struct{}, 1)
	rt.Subscribe(func(_ runtime.Ref, eps []runtime.Endpoint) {
		if len(eps) > 0 {
			ready <- struct{}{}
		}
	})
	ctx := context.Background()
	if err := rt.Start(ctx); err != nil {
		fail(err)
	}
	spec := echoSpec("daemon", 1, 1)
	if err := rt.Apply(ctx, spec); err != nil {
		fail(err)
	}
	<-ready
	f, _ := rt.lookup(spec.Ref)
	f.mu.Lock()
	pid := f.replicas[0].proc.Pid()
	f.mu.Unlock()
	fmt.Println("pid", pid)
	select {}
}

func TestDaemonKill9LeavesNothing(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "FJORD_PROCESS_TEST_DAEMON="+t.TempDir(), "FJORD_PROCESS_TEST_WATCHDOG="+bins.fake)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	var pid int
	select {
	case l := <-line:
		p, ok := strings.CutPrefix(l, "pid ")
		if pid, err = strconv.Atoi(p); !ok || err != nil {
			t.Fatalf("daemon said %q", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not start a replica")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, pid)
}
