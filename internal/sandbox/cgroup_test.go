package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestV2GroupLifecycle exercises the cgroup2 driver without controllers, on
// the unified hierarchy of a hybrid host (or the root of a unified one).
func TestV2GroupLifecycle(t *testing.T) {
	testenv.NeedRoot(t)
	root := ""
	for _, r := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(r, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC && unix.Access(r, unix.W_OK) == nil {
			root = r
			break
		}
	}
	if root == "" {
		testenv.Need(t, false, "no writable cgroup2 hierarchy")
	}
	prefix := fmt.Sprintf("fjordtest-%d-v2", os.Getpid())
	t.Cleanup(func() { _ = os.Remove(filepath.Join(root, prefix)) })
	drv, reason := detectCgroups(root, prefix)
	if drv == nil {
		t.Fatalf("detect: %s", reason)
	}
	g, err := drv.create("r1", runtime.Resources{}, 0)
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
	if names, err := drv.list(); err != nil || len(names) != 1 || names[0] != "r1" {
		t.Errorf("list = %v, %v; want [r1]", names, err)
	}
	if err := removeGroup(drv.load("r1")); err != nil {
		t.Fatalf("remove: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("process in removed cgroup still running")
	}
	if _, err := os.Stat(filepath.Join(root, prefix, "r1")); !os.IsNotExist(err) {
		t.Errorf("cgroup dir left: %v", err)
	}
}
