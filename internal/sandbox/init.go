package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"golang.org/x/sys/unix"
)

// initSpec is what the parent sends the init child through the spec pipe.
type initSpec struct {
	// HostRoot: the root is the host root read-only; otherwise an overlay on RootFS.
	HostRoot bool
	RootFS   string
	// FuncDir is the host directory bound read-only at Dir in host-root mode.
	FuncDir      string
	Dir          string
	Path         string
	Args         []string
	Env          []string
	WorkDir      string
	SecretsDir   string
	Binds        []process.Bind
	ReadOnlyRoot bool
	TmpSize      int64
	HideDirs     []string
	Hostname     string
	UID, GID     uint32
	// InProcess: Path is the daemon's own binary and Init may run it in-process.
	InProcess bool
	// Nice, when set, is the priority a spare init gives all its threads back.
	Nice *int
	// Gated: a spare init builds the root while the daemon puts it in the
	// replica's cgroup, and runs the function only once the daemon released
	// it (one byte on the spec socket).
	Gated bool
	// Trace: report how long the init's steps took, for the daemon's debug log.
	Trace bool
	// CgroupTasks, when set, are the replica's cgroup files to which every
	// thread of the init writes "0" to move itself in (see
	// v1Group.threadFiles), before the pivot and after the release of a
	// gated init; else the daemon moves the init in.
	CgroupTasks []string
}

// Runner runs a program inside the init process instead of exec'ing it (see
// Config.InProcess). Init calls it once the root is built, privileges are
// dropped on every thread and the process environment is exactly env; args
// are the launch's Args. GOMAXPROCS is env's GOMAXPROCS when set there, else
// what the init had: 1 in a spare init (so that fjord's watchdog, which runs
// on one P, does not stop the world to change it), the CPU count otherwise. An error from Runner is reported to the parent as a
// failed start; otherwise the returned function runs the program until it ends.
type Runner func(args, env []string) (run func(context.Context) error, err error)

// Init is the body of the hidden "sandbox-init" command. args are the spec
// and error pipe fds. It runs as PID 1 of the replica's namespaces, builds
// the root, drops privileges and execs the function, or, for an in-process
// launch with a non-nil runner, runs it here until it ends. A failed start is
// reported to the parent through the error pipe and returned.
func Init(ctx context.Context, args []string, runner Runner) error {
	// Mount, capability and credential changes below are per thread; the
	// final exec must come from the thread that made them.
	runtime.LockOSThread()
	if len(args) != 2 {
		return fmt.Errorf("sandbox init: want 2 fd arguments, got %d", len(args))
	}
	specFD, err1 := strconv.Atoi(args[0])
	errFD, err2 := strconv.Atoi(args[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("sandbox init: parse fds: %w", err)
	}
	spec, errFD, gateFD, err := readSpec(specFD, errFD)
	errPipe := os.NewFile(uintptr(errFD), "sandbox-err")
	syscall.CloseOnExec(errFD)
	var run func(context.Context) error
	if err == nil {
		ph := process.NewPhases(spec.Trace)
		report := func() {
			if ph != nil {
				_, _ = io.WriteString(errPipe, traceMark+ph.String()+"\n")
			}
		}
		run, err = initAndExec(&spec, runner, gate(gateFD), ph, report)
	}
	if err != nil {
		_, _ = io.WriteString(errPipe, err.Error())
		return err
	}
	// In-process: closing the pipe tells the parent the start succeeded, as
	// the close-on-exec would have.
	_ = errPipe.Close()
	return run(ctx)
}

// traceMark starts the line of step durations a traced init writes to its
// error pipe before it closes it or execs (see initSpec.Trace).
const traceMark = "\x00"

// initAndExec builds the root and execs the function; it returns only on
// failure, or with the program to run for an in-process launch. It records
// its steps in ph and calls report when the function is about to run.
func initAndExec(spec *initSpec, runner Runner, gate func() error, ph *process.Phases, report func()) (func(context.Context) error, error) {
	err := buildRoot(spec, func() error {
		if len(spec.CgroupTasks) == 0 {
			return nil
		}
		ph.Mark("mounts")
		if err := gate(); err != nil {
			return err
		}
		ph.Mark("gate")
		err := joinCgroup(spec.CgroupTasks)
		ph.Mark("join")
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return nil, fmt.Errorf("set hostname: %w", err)
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return nil, fmt.Errorf("enter working dir: %w", err)
	}
	ph.Mark("root")
	if spec.InProcess && runner != nil {
		run, err := runInProcess(spec, runner, ph)
		if !errors.Is(err, errNoAllThreads) {
			if err == nil {
				err = gate()
				ph.Mark("gate")
				report()
			}
			return run, err
		}
	}
	path, err := lookPath(spec.Path, spec.Env)
	if err != nil {
		return nil, err
	}
	if err := dropPrivileges(spec.UID, spec.GID); err != nil {
		return nil, err
	}
	ph.Mark("privileges")
	if err := gate(); err != nil {
		return nil, err
	}
	ph.Mark("gate")
	report()
	if err := syscall.Exec(path, spec.Args, spec.Env); err != nil {
		return nil, fmt.Errorf("exec %s: %w", spec.Path, err)
	}
	return nil, nil
}

// readSpec reads the spec from its pipe or, for a spare init started ahead
// of time, from its socket, with the replica's files (see receiveSpec); it
// returns the error pipe's fd, which a spare init moves.
func readSpec(specFD, errFD int) (spec initSpec, newErrFD, gateFD int, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(specFD, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		// A spare init does the part of dropping privileges on every thread
		// that keeps the capabilities it still needs before it waits (see
		// dropRootKept; the bounding set is usually empty already, see
		// spareStarter).
		switch err := dropRootKept(); {
		case err == nil:
			droppedWhileWaiting = true
		case !errors.Is(err, errNoAllThreads):
			return initSpec{}, errFD, -1, err
		}
		// One P while it waits and starts: its steps are sequential, and the
		// watchdog it usually runs in-process wants one (see Runner).
		runtime.GOMAXPROCS(1)
		if err := makeMountsPrivate(); err != nil {
			return initSpec{}, errFD, -1, err
		}
		mountsPrivate = true
		// Join the spare's own cgroup now, off the start path: the daemon
		// makes it the replica's (see spareDriver).
		if v := os.Getenv(spareCgroupEnv); v != "" {
			if err := joinCgroup(strings.Split(v, "\n")); err != nil {
				return initSpec{}, errFD, -1, err
			}
		}
		return receiveSpec(specFD, errFD)
	}
	f := os.NewFile(uintptr(specFD), "sandbox-spec")
	err = json.NewDecoder(f).Decode(&spec)
	_ = f.Close()
	if err != nil {
		return spec, errFD, -1, fmt.Errorf("read sandbox spec: %w", err)
	}
	return spec, errFD, -1, nil
}

// gate returns the wait for the daemon's release of a gated spare init (see
// initSpec.Gated); without a gate fd, or once released, it returns at once.
func gate(fd int) func() error {
	return func() error {
		if fd < 0 {
			return nil
		}
		defer func() {
			unix.Close(fd)
			fd = -1
		}()
		var b [1]byte
		n, err := unix.Read(fd, b[:])
		if err == nil && n != 1 {
			err = errors.New("the daemon closed the socket")
		}
		if err != nil {
			return fmt.Errorf("wait for the replica's cgroup: %w", err)
		}
		return nil
	}
}

// joinCgroup moves every thread of this process into the cgroups of the given
// tasks files: each thread writes "0" for itself (see v1Group.threadFiles).
// Without all-threads syscalls (cgo) it writes "0" to the cgroup.procs beside
// each file instead, which moves the whole process.
func joinCgroup(tasks []string) error {
	zero := []byte("0")
	for _, f := range tasks {
		fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
		_, _, e := syscall.AllThreadsSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&zero[0])), uintptr(len(zero)))
		runtime.KeepAlive(zero)
		unix.Close(fd)
		if e == syscall.ENOTSUP {
			if err := os.WriteFile(filepath.Join(filepath.Dir(f), "cgroup.procs"), zero, 0); err != nil {
				return fmt.Errorf("join cgroup: %w", err)
			}
			continue
		}
		if e != 0 {
			return fmt.Errorf("join cgroup %s: %w", filepath.Dir(f), e)
		}
	}
	return nil
}

// lookPath resolves a bare program name against PATH from the function's env.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("find %s in PATH: %w", name, os.ErrNotExist)
}

// dropPrivileges empties the bounding and ambient capability sets, switches
// this thread to uid/gid with no supplementary groups, clears the remaining
// capabilities and sets no_new_privs. Raw syscalls keep it to this thread,
// which is the one that execs.
func dropPrivileges(uid, gid uint32) error {
	last := capLastCap()
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop bounding capability %d: %w", c, err)
		}
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("clear groups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("set gid %d: %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("set uid %d: %w", uid, e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	// Changing credentials cleared the parent-death signal; set it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent death signal: %w", err)
	}
	return nil
}
