package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/testenv"
	"golang.org/x/sys/unix"
)

// Arguments the test runner knows (Config.InProcess of the tests below).
const (
	inProcessReport = "in-process-report"
	inProcessFail   = "in-process-fail"
)

// credFields are the /proc/<pid>/status lines that must show an unprivileged task.
var credFields = []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"}

// inProcessReport is what the test runner prints: the credentials of every
// thread of the init and of a child it forks, its environment and stray pipes.
type threadReport struct {
	Threads map[string]map[string]string
	Child   map[string]string
	Env     []string
	Pipes   map[int]string // fd above 3 -> pipe:[inode]
	// Cgroups maps each thread, and "child", to its /proc/.../cgroup lines.
	Cgroups map[string]string
	// MaxProcs is the runner's GOMAXPROCS.
	MaxProcs int
}

// testRunner is the Runner of the test binary's sandbox init (see TestMain).
func testRunner(args, _ []string) (func(context.Context) error, error) {
	switch {
	case len(args) == 2 && args[1] == inProcessReport:
		return func(context.Context) error { return reportThreads() }, nil
	case len(args) == 2 && args[1] == inProcessFail:
		return nil, errors.New("runner refused")
	}
	return nil, fmt.Errorf("unexpected in-process args %q", args)
}

func reportThreads() error {
	r := threadReport{Threads: map[string]map[string]string{}, Env: os.Environ(), Pipes: map[int]string{}, Cgroups: map[string]string{},
		MaxProcs: runtime.GOMAXPROCS(0)}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if r.Threads[t.Name()], err = statusFields("/proc/self/task/" + t.Name() + "/status"); err != nil {
			return err
		}
		r.Threads[t.Name()]["Nice"] = threadNice("/proc/self/task/" + t.Name() + "/stat")
		cg, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/cgroup")
		r.Cgroups[t.Name()] = string(cg)
	}
	cg, err := exec.Command("/bin/cat", "/proc/self/cgroup").Output()
	if err != nil {
		return fmt.Errorf("run child: %w", err)
	}
	r.Cgroups["child"] = string(cg)
	out, err := exec.Command("/bin/cat", "/proc/self/status").Output()
	if err != nil {
		return fmt.Errorf("run child: %w", err)
	}
	r.Child = parseStatus(out)
	r.Pipes = openPipes()
	ready := os.NewFile(3, "ready")
	_, _ = io.WriteString(ready, "ready")
	_ = ready.Close()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// openPipes lists this process's pipes above fd 3.
func openPipes() map[int]string {
	m := map[int]string{}
	for fd := 4; fd < 1024; fd++ {
		if l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && strings.HasPrefix(l, "pipe:") {
			m[fd] = l
		}
	}
	return m
}

// threadNice reads the nice value (field 19) from a task's stat file.
func threadNice(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	if f := strings.Fields(rest); len(f) > 16 {
		return f[16]
	}
	return "?"
}

func statusFields(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseStatus(b), nil
}

func parseStatus(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && slices.Contains(credFields, k) {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

// inProcessLaunch runs the test binary itself with arg, as the process
// runtime runs "fjord watchdog" for a host-runtime image.
func inProcessLaunch(t *testing.T, id, arg string) process.Launch {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := launch(t, id, hostBundle(t))
	l.Path, l.Args, l.Dir = self, []string{filepath.Base(self), arg}, "/home/app"
	l.Env = []string{"PATH=/usr/bin:/bin", "TMPDIR=/tmp", "fjord_ready_fd=3", "x=a=b"}
	return l
}

// needAllThreads skips when this test binary (built with cgo) cannot run
// launches in-process: its init would exec instead.
func needAllThreads(t *testing.T) {
	t.Helper()
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0)
	testenv.Need(t, e != syscall.ENOTSUP, "in-process launches need a test binary built with CGO_ENABLED=0")
}

// TestInProcessDropsEveryThread checks that an in-process launch runs as the
// unprivileged user on every thread, with no capabilities and no_new_privs,
// that a child it forks inherits that, that it sees exactly Launch.Env and
// is in its cgroup on every thread; first from a fresh init, then from spare
// ones, which run it on one P unless the env sets GOMAXPROCS.
func TestInProcessDropsEveryThread(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.InProcess, c.Spares = []string{inProcessReport}, 1 })
	needAllThreads(t)
	t.Parallel()
	for i, id := range []string{"inproc-1", "inproc-2", "inproc-3"} {
		if i > 0 {
			waitSpare(t, s)
		}
		l := inProcessLaunch(t, id, inProcessReport)
		wantProcs := 1 // a spare init's, which the watchdog wants
		if i == 2 {
			l.Env, wantProcs = append(l.Env, "GOMAXPROCS=3"), 3
		}
		r := runInProcessReport(t, s, l)
		checkThreadReport(t, l, r)
		checkCgroups(t, s, id, r)
		if i > 0 && r.MaxProcs != wantProcs {
			t.Errorf("%s: GOMAXPROCS %d, want %d", id, r.MaxProcs, wantProcs)
		}
	}
}

// checkCgroups checks that every thread of a replica, and a child it forks,
// is in the replica's cgroup in each hierarchy the sandbox uses (these
// launches have no CPU limit: no cpu hierarchy where cpu is apart from cpuacct).
func checkCgroups(t *testing.T, s *Sandbox, id string, r threadReport) {
	t.Helper()
	if s.cg == nil {
		return
	}
	want := "/" + s.cfg.CgroupPrefix + "/" + id
	for who, lines := range r.Cgroups {
		for _, c := range v1Controllers {
			d, v1 := s.cg.(*v1Driver)
			if !v1 {
				c = "" // cgroup2: the one "0::/path" line
			} else if c == "cpu" && d.separateCPU() {
				continue
			}
			found := false
			for _, line := range strings.Split(lines, "\n") {
				f := strings.SplitN(line, ":", 3)
				if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), c) == (c != "") && f[2] == want {
					found = true
				}
			}
			if !found {
				t.Errorf("%s %s: not in cgroup %s for %q:\n%s", id, who, want, c, lines)
			}
		}
	}
}

// runInProcessReport starts l with pipes for its output and ready fd and
// decodes the test runner's report.
func runInProcessReport(t *testing.T, s *Sandbox, l process.Launch) threadReport {
	t.Helper()
	out, _ := runPiped(t, s, l)
	var r threadReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decode report %q: %v", out, err)
	}
	return r
}

func checkThreadReport(t *testing.T, l process.Launch, r threadReport) {
	t.Helper()
	want := map[string]string{
		"Uid": "65534 65534 65534 65534", "Gid": "65534 65534 65534 65534", "Groups": "",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1",
	}
	if len(r.Threads) < 2 {
		t.Errorf("report covers %d threads, want the runtime's several", len(r.Threads))
	}
	check := func(who string, got map[string]string) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s %s = %q, want %q", l.ReplicaID, who, k, got[k], v)
			}
		}
	}
	for tid, st := range r.Threads {
		check("thread "+tid, st)
	}
	check("child", r.Child)
	// A spare init starts at spareNice; the function must get the daemon's priority.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	for tid, st := range r.Threads {
		if want := strconv.Itoa(20 - prio); st["Nice"] != want {
			t.Errorf("%s: thread %s nice %s, want the test's %s", l.ReplicaID, tid, st["Nice"], want)
		}
	}
	if !slices.Equal(r.Env, l.Env) {
		t.Errorf("%s: environment %q, want exactly %q", l.ReplicaID, r.Env, l.Env)
	}
	inherited := openPipes() // leaked into the test by whatever started it
	for fd, p := range r.Pipes {
		if inherited[fd] != p {
			t.Errorf("%s: sandbox pipe %s still open as fd %d", l.ReplicaID, p, fd)
		}
	}
}

// TestInProcessRunnerError checks that a runner's error fails Start.
func TestInProcessRunnerError(t *testing.T) {
	s := newTestSandbox(t, func(c *Config) { c.InProcess = []string{inProcessFail} })
	needAllThreads(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := s.Start(ctx, inProcessLaunch(t, "inproc-2", inProcessFail))
	if err == nil {
		p.Cleanup()
		t.Fatal("Start succeeded although the runner failed")
	}
	if !strings.Contains(err.Error(), "runner refused") {
		t.Errorf("error %q does not carry the runner's", err)
	}
}
