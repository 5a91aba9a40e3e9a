package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"golang.org/x/sys/unix"
)

// cgroupPeriod is the CFS period the CPU quota is expressed against.
const cgroupPeriod = 100_000 // µs

// group is one replica's cgroup, in whichever hierarchy the host has.
type group interface {
	add(pid int) error
	// threadFiles are the files to which each thread of a process writes "0"
	// to move itself into the group (cgroup v1 "tasks"); nil when a process
	// cannot join that way (cgroup2 domains) and add must be used.
	threadFiles() []string
	procs() ([]int, error)
	// killAll SIGKILLs the whole group at once where the kernel can (cgroup2
	// cgroup.kill); killGroup signals each listed pid as well.
	killAll()
	oomKills() uint64
	usage() (cpuSeconds float64, memoryBytes int64, err error)
	// remove deletes the (empty) cgroup.
	remove() error
}

// cgroupDriver creates and finds replica cgroups.
type cgroupDriver interface {
	create(id string, res runtime.Resources, pids int64) (group, error)
	load(id string) group
	// list names the replica cgroups under the prefix.
	list() ([]string, error)
}

// detectCgroups picks the cgroup v2 driver when root is the unified hierarchy,
// v1 when the memory, cpu and pids controllers are mounted, or says why neither.
func detectCgroups(root, prefix string) (cgroupDriver, string) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, fmt.Sprintf("cgroups not mounted at %s: %v", root, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		if unix.Access(root, unix.W_OK) != nil {
			return nil, "cgroup2 hierarchy is not writable"
		}
		return &v2Driver{root: root, prefix: prefix}, ""
	}
	for _, c := range []string{"memory", "cpu", "cpuacct", "pids"} {
		if unix.Access(filepath.Join(root, c), unix.W_OK) != nil {
			return nil, fmt.Sprintf("cgroup v1 controller %q missing or not writable", c)
		}
	}
	return &v1Driver{root: root, prefix: prefix}, ""
}

// killGroup SIGKILLs every process in g until it is empty or the deadline passes.
func killGroup(g group, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := g.procs()
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list cgroup processes: %w", err)
		}
		if len(pids) == 0 {
			return nil
		}
		g.killAll()
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup: %d processes left", len(pids))
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL) // it may have exited already
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeGroup kills what is left in g and deletes it, retrying while the
// kernel still reports dying tasks.
func removeGroup(g group) error {
	if err := killGroup(g, 5*time.Second); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := g.remove()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPids parses a cgroup.procs file.
func readPids(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// readKey returns the value of key in a "key value" per line file (0 if absent).
func readKey(path, key string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// readUint reads a file holding one number.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// listDirs names the sub-directories of dir (none when it does not exist).
func listDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
