package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime/process"
)

// helperEnv makes the test binary act as a daemon that starts one replica,
// prints its pid and waits to be killed.
const helperEnv = "FJORD_SANDBOX_TEST_HELPER"

type helperArgs struct {
	Prefix string
	Launch process.Launch
}

func runHelper() int {
	var a helperArgs
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := Default()
	cfg.CgroupPrefix = a.Prefix
	s, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := s.Start(context.Background(), a.Launch)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.Pid())
	time.Sleep(time.Minute)
	return 0
}

// TestDaemonKillTakesReplicas: when the daemon dies by SIGKILL its replicas
// die too (parent-death signal), and CleanupStale removes their cgroups.
func TestDaemonKillTakesReplicas(t *testing.T) {
	s := newTestSandbox(t, nil)
	t.Parallel()
	b := hostBundle(t)
	l := launch(t, "orphan-1", image.Bundle{RootFS: b.RootFS, WorkingDir: b.WorkingDir, HostRuntime: true}, "sleep")
	l.Dir, l.Stderr = "/home/app", nil
	env, _ := json.Marshal(helperArgs{Prefix: s.cfg.CgroupPrefix, Launch: l})
	helper := exec.Command("/proc/self/exe")
	helper.Env = append(os.Environ(), helperEnv+"="+string(env))
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(bufio.NewReader(out), &pid); err != nil {
		_ = helper.Process.Kill()
		t.Fatalf("helper gave no replica pid: %v", err)
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("replica %d outlived its daemon", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.CleanupStale(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertNoCgroup(t, s, "orphan-1")
}
