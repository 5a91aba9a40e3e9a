package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// v2Driver manages replica cgroups on a unified (cgroup2) host.
type v2Driver struct {
	root   string
	prefix string
}

func (d *v2Driver) create(id string, res runtime.Resources, pids int64) (group, error) {
	spec := &cgroup2.Resources{}
	if res.MemoryBytes > 0 {
		limit, swap := res.MemoryBytes, int64(0) // no swap, so the OOM killer acts
		spec.Memory = &cgroup2.Memory{Max: &limit}
		if exists(filepath.Join(d.root, "memory.swap.max")) || exists(filepath.Join(d.root, d.prefix, "memory.swap.max")) {
			spec.Memory.Swap = &swap
		}
	}
	if res.CPUMilli > 0 {
		quota, period := res.CPUMilli*cgroupPeriod/1000, uint64(cgroupPeriod)
		spec.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
	}
	if pids > 0 {
		spec.Pids = &cgroup2.Pids{Max: pids}
	}
	path := "/" + d.prefix + "/" + id
	m, err := cgroup2.NewManager(d.root, path, spec)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return &v2Group{dir: filepath.Join(d.root, path), m: m}, nil
}

func (d *v2Driver) load(id string) group {
	return &v2Group{dir: filepath.Join(d.root, d.prefix, id)}
}

func (d *v2Driver) list() ([]string, error) {
	names, err := listDirs(filepath.Join(d.root, d.prefix))
	if err != nil {
		return nil, fmt.Errorf("list cgroups: %w", err)
	}
	return names, nil
}

// v2Group is one replica's cgroup2 directory.
type v2Group struct {
	dir string
	m   *cgroup2.Manager // nil when loaded for cleanup
}

func (g *v2Group) add(pid int) error {
	if err := g.m.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add pid %d to cgroup: %w", pid, err)
	}
	return nil
}

// threadFiles is nil: a cgroup2 domain takes whole processes only.
func (g *v2Group) threadFiles() []string { return nil }

func (g *v2Group) procs() ([]int, error) {
	return readPids(filepath.Join(g.dir, "cgroup.procs"))
}

func (g *v2Group) killAll() {
	_ = os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0) // 5.14+
}

func (g *v2Group) oomKills() uint64 {
	return readKey(filepath.Join(g.dir, "memory.events"), "oom_kill")
}

func (g *v2Group) usage() (float64, int64, error) {
	usec := readKey(filepath.Join(g.dir, "cpu.stat"), "usage_usec")
	mem, err := readUint(filepath.Join(g.dir, "memory.current"))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory usage: %w", err)
	}
	return float64(usec) / 1e6, int64(mem), nil
}

func (g *v2Group) remove() error {
	if err := os.Remove(g.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
