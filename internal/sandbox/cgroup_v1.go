package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/fjord-faas/fjord/internal/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Controllers are the cgroup v1 hierarchies a replica joins.
var v1Controllers = [...]string{"memory", "cpu", "cpuacct", "pids"}

// v1Driver manages replica cgroups on a legacy or hybrid cgroup v1 host.
type v1Driver struct {
	root   string // e.g. /sys/fs/cgroup
	prefix string
}

func (d *v1Driver) hierarchy() ([]cgroup1.Subsystem, error) {
	mem := cgroup1.NewMemory(d.root)
	if !exists(filepath.Join(d.root, "memory", "memory.memsw.limit_in_bytes")) {
		mem = cgroup1.NewMemory(d.root, cgroup1.OptionalSwap())
	}
	return []cgroup1.Subsystem{
		mem, cgroup1.NewCpu(d.root), cgroup1.NewCpuacct(d.root), cgroup1.NewPids(d.root),
	}, nil
}

func (d *v1Driver) create(id string, res runtime.Resources, pids int64) (group, error) {
	spec := &specs.LinuxResources{}
	if res.MemoryBytes > 0 {
		limit := res.MemoryBytes
		spec.Memory = &specs.LinuxMemory{Limit: &limit}
		if exists(filepath.Join(d.root, "memory", "memory.memsw.limit_in_bytes")) {
			swap := limit // memory+swap == memory: no swap, so the OOM killer acts
			spec.Memory.Swap = &swap
		}
	}
	if res.CPUMilli > 0 {
		quota, period := res.CPUMilli*cgroupPeriod/1000, uint64(cgroupPeriod)
		spec.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if pids > 0 {
		limit := pids
		spec.Pids = &specs.LinuxPids{Limit: &limit}
	}
	path := "/" + d.prefix + "/" + id
	noCPU := res.CPUMilli == 0 && d.separateCPU() // see separateCPU
	hierarchy := d.hierarchy
	if noCPU {
		hierarchy = func() ([]cgroup1.Subsystem, error) {
			all, err := d.hierarchy()
			var subs []cgroup1.Subsystem
			for _, sub := range all {
				if sub.Name() != cgroup1.Cpu {
					subs = append(subs, sub)
				}
			}
			return subs, err
		}
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(path), spec, cgroup1.WithHierarchy(hierarchy))
	if err != nil {
		g := d.load(id)
		_ = g.remove() // undo the directories made before the failure
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return &v1Group{root: d.root, rel: path, cg: cg, noCPU: noCPU}, nil
}

func (d *v1Driver) load(id string) group {
	return &v1Group{root: d.root, rel: "/" + d.prefix + "/" + id}
}

func (d *v1Driver) list() ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, c := range v1Controllers {
		dirs, err := listDirs(filepath.Join(d.root, c, d.prefix))
		if err != nil {
			return nil, fmt.Errorf("list cgroups: %w", err)
		}
		for _, n := range dirs {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names, nil
}

// v1Group is one replica's directories in the v1 hierarchies.
type v1Group struct {
	root, rel string
	cg        cgroup1.Cgroup // nil when loaded for cleanup
	// noCPU: the group has no directory in the cpu hierarchy (a spare's, or
	// a replica's without a CPU limit; see v1Driver.separateCPU).
	noCPU bool
}

// controllers are the hierarchies the group has a directory in.
func (g *v1Group) controllers() []string {
	if !g.noCPU {
		return v1Controllers[:]
	}
	cs := make([]string, 0, len(v1Controllers)-1)
	for _, c := range v1Controllers {
		if c != "cpu" {
			cs = append(cs, c)
		}
	}
	return cs
}

func (g *v1Group) dir(controller string) string {
	return filepath.Join(g.root, controller, g.rel)
}

func (g *v1Group) add(pid int) error {
	if err := g.cg.Add(cgroup1.Process{Pid: pid}); err != nil {
		return fmt.Errorf("add pid %d to cgroup: %w", pid, err)
	}
	return nil
}

// threadFiles are the group's tasks files. A thread that writes "0" there
// moves only itself, which the kernel does without the write lock on all
// thread groups that a cgroup.procs write takes; that lock waits for an RCU
// grace period, 10-16 ms on this host after a pause.
func (g *v1Group) threadFiles() []string {
	files := make([]string, 0, len(v1Controllers))
	for _, c := range g.controllers() {
		files = append(files, filepath.Join(g.dir(c), "tasks"))
	}
	return files
}

func (g *v1Group) procs() ([]int, error) {
	var all []int
	missing := 0
	for _, c := range v1Controllers {
		pids, err := readPids(filepath.Join(g.dir(c), "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) {
			missing++
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, pids...)
	}
	if missing == len(v1Controllers) {
		return nil, os.ErrNotExist
	}
	return all, nil
}

// killAll does nothing: cgroup v1 has no group kill; killGroup signals each pid.
func (g *v1Group) killAll() {}

func (g *v1Group) oomKills() uint64 {
	return readKey(filepath.Join(g.dir("memory"), "memory.oom_control"), "oom_kill")
}

func (g *v1Group) usage() (float64, int64, error) {
	ns, err := readUint(filepath.Join(g.dir("cpuacct"), "cpuacct.usage"))
	if err != nil {
		return 0, 0, fmt.Errorf("read cpu usage: %w", err)
	}
	mem, err := readUint(filepath.Join(g.dir("memory"), "memory.usage_in_bytes"))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory usage: %w", err)
	}
	return float64(ns) / 1e9, int64(mem), nil
}

func (g *v1Group) remove() error {
	var errs []error
	for _, c := range v1Controllers {
		if err := os.Remove(g.dir(c)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// spareCgroupPrefix starts the names of spare inits' cgroups. A replica id
// never starts with a dot (see Sandbox.spec), so the two cannot clash.
const spareCgroupPrefix = ".spare-"

// spareDriver is a cgroup driver in which a spare init joins a cgroup of its
// own while it waits, and a start turns that cgroup into the replica's. Only
// the v1 driver is one: cgroup2 cannot rename a cgroup.
type spareDriver interface {
	// createSpare makes an empty cgroup without limits, named name.
	createSpare(name string) (group, error)
	// adopt applies a replica's limits to the spare cgroup g and renames it
	// to id. On failure it returns the group under whichever name it has.
	adopt(g group, id string, res runtime.Resources, pids int64) (group, error)
}

var _ spareDriver = (*v1Driver)(nil)

func (d *v1Driver) createSpare(name string) (group, error) {
	// A spare waits in the root cpu cgroup: a replica without a CPU limit
	// stays there, one with a limit joins its own at start (see adopt).
	g := &v1Group{root: d.root, rel: "/" + d.prefix + "/" + name, noCPU: d.separateCPU()}
	for _, c := range g.controllers() {
		dir := g.dir(c)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			_ = g.remove()
			return nil, fmt.Errorf("create spare cgroup: %w", err)
		}
		// Co-mounted hierarchies (cpu,cpuacct) share the directory.
		if err := os.Mkdir(dir, 0o755); err != nil && !(errors.Is(err, os.ErrExist) && c == "cpuacct") {
			_ = g.remove()
			return nil, fmt.Errorf("create spare cgroup: %w", err)
		}
	}
	return g, nil
}

// adopt writes the limits create would set, then renames the directory in
// every hierarchy: rename(2) keeps the tasks inside, so the spare init never
// moves between cgroups on the start path.
func (d *v1Driver) adopt(sg group, id string, res runtime.Resources, pids int64) (group, error) {
	g := sg.(*v1Group)
	type setting struct{ controller, file, value string }
	var set []setting
	if res.MemoryBytes > 0 {
		v := strconv.FormatInt(res.MemoryBytes, 10)
		set = append(set, setting{"memory", "memory.limit_in_bytes", v})
		if exists(filepath.Join(g.dir("memory"), "memory.memsw.limit_in_bytes")) {
			// memory+swap == memory: no swap, so the OOM killer acts
			set = append(set, setting{"memory", "memory.memsw.limit_in_bytes", v})
		}
	}
	if res.CPUMilli > 0 && !g.noCPU {
		set = append(set, setting{"cpu", "cpu.cfs_period_us", strconv.Itoa(cgroupPeriod)},
			setting{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(res.CPUMilli*cgroupPeriod/1000, 10)})
	}
	if pids > 0 {
		set = append(set, setting{"pids", "pids.max", strconv.FormatInt(pids, 10)})
	}
	for _, s := range set {
		if err := writeCgroupFile(filepath.Join(g.dir(s.controller), s.file), s.value); err != nil {
			return g, fmt.Errorf("set limits of cgroup %s: %w", g.rel, err)
		}
	}
	to := &v1Group{root: d.root, rel: "/" + d.prefix + "/" + id, noCPU: g.noCPU}
	var done []string
	for _, c := range g.controllers() {
		err := os.Rename(g.dir(c), to.dir(c))
		if err != nil && errors.Is(err, os.ErrNotExist) && exists(to.dir(c)) {
			continue // a hierarchy co-mounted with one renamed already
		}
		if err != nil {
			for _, c := range done {
				_ = os.Rename(to.dir(c), g.dir(c))
			}
			return g, fmt.Errorf("rename cgroup %s to %s: %w", g.rel, id, err)
		}
		done = append(done, c)
	}
	if g.noCPU && res.CPUMilli > 0 {
		// The replica's own cpu cgroup with its quota; the init joins it
		// itself once released (startSpare sets CgroupTasks to cpuTasks).
		dir := to.dir("cpu")
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return to, fmt.Errorf("create cpu cgroup %s: %w", to.rel, err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return to, fmt.Errorf("create cpu cgroup %s: %w", to.rel, err)
		}
		to.noCPU = false
		for _, kv := range [][2]string{{"cpu.cfs_period_us", strconv.Itoa(cgroupPeriod)},
			{"cpu.cfs_quota_us", strconv.FormatInt(res.CPUMilli*cgroupPeriod/1000, 10)}} {
			if err := writeCgroupFile(filepath.Join(dir, kv[0]), kv[1]); err != nil {
				return to, fmt.Errorf("set limits of cgroup %s: %w", to.rel, err)
			}
		}
	}
	return to, nil
}

// cpuTasks is the tasks file of replica id's own cpu cgroup.
func (d *v1Driver) cpuTasks(id string) string {
	return filepath.Join(d.root, "cpu", d.prefix, id, "tasks")
}

// separateCPU reports whether the cpu hierarchy is mounted apart from
// cpuacct, so that a replica can stay in the root cpu cgroup and still have
// its usage counted per replica in cpuacct. A replica without a CPU limit then
// is not scheduled as a group of its own: CFS group scheduling cost a function
// about half its efficiency under concurrent calls (wrk -c50 through the
// gateway, the handler's threads moved by hand between its cpu cgroup and the
// root three times: 23.4-24.8k vs 26.9-29.7k calls/s, handler CPU 30-32 vs
// 20-23 µs per call).
func (d *v1Driver) separateCPU() bool {
	cpu, err1 := filepath.EvalSymlinks(filepath.Join(d.root, "cpu"))
	acct, err2 := filepath.EvalSymlinks(filepath.Join(d.root, "cpuacct"))
	return err1 == nil && err2 == nil && cpu != acct
}

// writeCgroupFile writes value to an existing cgroup file.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
