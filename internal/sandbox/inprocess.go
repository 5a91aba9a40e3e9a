package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"golang.org/x/sys/unix"
)

// errNoAllThreads means this binary cannot change every thread's credentials
// (built with cgo); Init then execs instead of running in-process.
var errNoAllThreads = errors.New("all-threads syscalls unsupported")

// runInProcess drops privileges on every thread of the init, makes the
// process environment exactly the launch's and hands over to the runner.
func runInProcess(spec *initSpec, runner Runner, ph *process.Phases) (func(context.Context) error, error) {
	if err := dropPrivilegesAllThreads(spec.UID, spec.GID); err != nil {
		return nil, err
	}
	ph.Mark("privileges")
	if err := setEnv(spec.Env); err != nil {
		return nil, err
	}
	// As a fresh process would read it at start-up (see Runner).
	if n, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err == nil && n > 0 {
		runtime.GOMAXPROCS(n)
	}
	run, err := runner(spec.Args, spec.Env)
	ph.Mark("runner")
	if err != nil {
		return nil, fmt.Errorf("start %s in-process: %w", spec.Path, err)
	}
	return run, nil
}

// setEnv replaces the process environment with env.
func setEnv(env []string) error {
	os.Clearenv()
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set environment %s: %w", k, err)
		}
	}
	return nil
}

// dropPrivilegesAllThreads does what dropPrivileges does, but on every OS
// thread of the process: the Go runtime runs goroutines (and forks children)
// from any of them. Credential changes use the syscall package, which applies
// them to all threads; the per-thread prctl and capset calls go through
// syscall.AllThreadsSyscall.
func dropPrivilegesAllThreads(uid, gid uint32) error {
	if !droppedWhileWaiting {
		if err := dropRootKept(); err != nil {
			return err
		}
	}
	if err := syscall.Setresgid(int(gid), int(gid), int(gid)); err != nil {
		return fmt.Errorf("set gid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(int(uid), int(uid), int(uid)); err != nil {
		return fmt.Errorf("set uid %d: %w", uid, err)
	}
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := new([2]unix.CapUserData)
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(data)), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if e != 0 {
		return fmt.Errorf("clear capabilities: %w", e)
	}
	// Changing credentials cleared the parent-death signal; set it again on
	// every thread, since any of them may be the one the daemon is parent of.
	if err := allThreadsPrctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); err != nil {
		return fmt.Errorf("set parent death signal: %w", err)
	}
	return nil
}

// droppedWhileWaiting is set once a spare init did dropRootKept while it
// waited for a launch; dropPrivilegesAllThreads then skips it.
var droppedWhileWaiting bool

// dropRootKept does the steps of dropping privileges on every thread that
// leave the process root with every capability it still needs: an empty
// bounding set and ambient set, no supplementary groups and no_new_privs.
// Each is a stop-the-world of all threads; a spare init does them while it
// waits, off the start's path.
func dropRootKept() error {
	if err := dropBoundingAllThreads(); err != nil {
		return err
	}
	_ = allThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("clear groups: %w", err)
	}
	if err := allThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// dropBoundingAllThreads empties the capability bounding set of every thread.
// It is one stop-the-world per capability, so it is skipped when the set is
// empty already (a spare init drops it while it waits for a launch).
func dropBoundingAllThreads() error {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 0, 0); e == syscall.ENOTSUP {
		return errNoAllThreads
	}
	last := capLastCap()
	if boundingEmpty(last) {
		return nil
	}
	for c := 0; c <= last; c++ {
		if err := allThreadsPrctl(unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop bounding capability %d: %w", c, err)
		}
	}
	return nil
}

// boundingEmpty reports whether this thread's bounding set holds no capability.
func boundingEmpty(last int) bool {
	for c := 0; c <= last; c++ {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil || r != 0 {
			return false
		}
	}
	return true
}

func allThreadsPrctl(option, arg2, arg3 uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, option, arg2, arg3); e != 0 {
		return e
	}
	return nil
}

// capLastCap is the highest capability number the kernel knows.
func capLastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return 40
}
