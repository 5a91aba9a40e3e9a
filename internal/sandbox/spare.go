package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"golang.org/x/sys/unix"
)

// spareNice is the nice value a spare init starts with, so that its start-up
// yields the CPU to replicas starting meanwhile; a start that takes it resets
// every thread to the daemon's own priority.
const spareNice = 19

// maxSpecSize bounds the spec message a spare init receives.
const maxSpecSize = 1 << 20

// spare is an init started ahead of time in its own namespaces, not yet in
// a cgroup, blocked reading its spec (and the replica's files) from sock.
type spare struct {
	cmd  *exec.Cmd
	sock *os.File // our end of a SOCK_SEQPACKET pair
	errR *os.File
	nice int // the daemon's nice value, to restore when taken
}

// takeSpare returns a waiting spare init, or nil. Only launches whose output
// goes to files can use one: their fds are passed over the socket.
func (s *Sandbox) takeSpare(l process.Launch) *spare {
	if s.spares == nil {
		return nil
	}
	if _, ok := l.Stdout.(*os.File); !ok {
		return nil
	}
	if _, ok := l.Stderr.(*os.File); !ok {
		return nil
	}
	defer s.refill()
	select {
	case sp := <-s.spares:
		return sp
	default:
		return nil
	}
}

// refill starts a spare init in the background unless one is being made.
func (s *Sandbox) refill() {
	if len(s.spares) == cap(s.spares) || !s.refilling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.refilling.Store(false)
		sp, err := startSpare(s.cfg.Self)
		if err != nil {
			s.log.Warn("start spare sandbox init failed", "err", err)
			return
		}
		select {
		case s.spares <- sp:
		default:
			sp.kill()
		}
	}()
}

// startSpare starts an init that waits for its spec on a socket (fd 3).
func startSpare(self []string) (*spare, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make spare socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spare-spec"), os.NewFile(uintptr(fds[1]), "spare-spec")
	defer theirs.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("make error pipe: %w", err)
	}
	defer errW.Close()
	args := append(append([]string(nil), self[1:]...), "3", "4")
	cmd := initCommand(self[0], args)
	cmd.ExtraFiles = []*os.File{theirs, errW}
	nice, err := startNiced(cmd)
	if err != nil {
		ours.Close()
		errR.Close()
		return nil, fmt.Errorf("start spare sandbox init: %w", err)
	}
	return &spare{cmd: cmd, sock: ours, errR: errR, nice: nice}, nil
}

// startNiced starts cmd from a thread lowered to spareNice: the child and
// every thread it makes inherit that priority. It returns the thread's nice
// value from before, to which the thread is restored.
func startNiced(cmd *exec.Cmd) (int, error) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		runtime.UnlockOSThread()
		return 0, cmd.Start()
	}
	nice := 20 - prio // the raw syscall returns 20 - nice
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, spareNice); err != nil {
		runtime.UnlockOSThread()
		return nice, cmd.Start()
	}
	startErr := cmd.Start()
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err == nil {
		runtime.UnlockOSThread() // otherwise the thread ends with this goroutine
	}
	return nice, startErr
}

// renice gives every current thread of the spare the daemon's priority back;
// the init does the same from inside for threads made meanwhile.
func (sp *spare) renice() {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", sp.cmd.Process.Pid))
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, sp.nice)
		}
	}
}

// initCommand is the init child in new mount, PID, IPC and UTS namespaces.
func initCommand(path string, args []string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	return cmd
}

// send hands the spare its spec with the replica's stdout, stderr and extra
// files attached; the init puts them at fds 1, 2, 3, ...
func (sp *spare) send(spec *initSpec, l process.Launch) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode sandbox spec: %w", err)
	}
	files := append([]*os.File{l.Stdout.(*os.File), l.Stderr.(*os.File)}, l.ExtraFiles...)
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	err = unix.Sendmsg(int(sp.sock.Fd()), b, unix.UnixRights(fds...), nil, 0)
	sp.sock.Close()
	if err != nil {
		return fmt.Errorf("send spec to spare init: %w", err)
	}
	return nil
}

func (sp *spare) kill() {
	sp.sock.Close()
	sp.errR.Close()
	_ = sp.cmd.Process.Kill()
	_ = sp.cmd.Wait()
}

// receiveSpec is the spare init's side of send: it moves its own fds out of
// the way, receives the spec and places the passed files at 1, 2, 3, ...
// It uses raw fds only, so the runtime's poller has opened no fd yet that
// could sit where a passed file must go.
func receiveSpec(sockFD, errFD int) (spec initSpec, newErrFD int, err error) {
	sock, err := unix.FcntlInt(uintptr(sockFD), unix.F_DUPFD_CLOEXEC, 100)
	if err != nil {
		return spec, errFD, fmt.Errorf("move spec socket: %w", err)
	}
	defer unix.Close(sock)
	if newErrFD, err = unix.FcntlInt(uintptr(errFD), unix.F_DUPFD_CLOEXEC, 100); err != nil {
		return spec, errFD, fmt.Errorf("move error pipe: %w", err)
	}
	unix.Close(sockFD)
	unix.Close(errFD)
	buf, oob := make([]byte, maxSpecSize), make([]byte, unix.CmsgSpace(64*4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return spec, newErrFD, fmt.Errorf("receive sandbox spec: %w", err)
	}
	fds, err := passedFDs(oob[:oobn])
	if err != nil {
		return spec, newErrFD, err
	}
	if err := placeFDs(fds); err != nil {
		return spec, newErrFD, err
	}
	if err := json.Unmarshal(buf[:n], &spec); err != nil {
		return spec, newErrFD, fmt.Errorf("read sandbox spec: %w", err)
	}
	if spec.Nice != nil {
		// Threads made after the daemon's renice still have spareNice. Without
		// all-threads syscalls (cgo) this thread, which execs, is enough.
		prio := uintptr(*spec.Nice)
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, prio); e == syscall.ENOTSUP {
			_ = unix.Setpriority(unix.PRIO_PROCESS, 0, *spec.Nice)
		}
	}
	return spec, newErrFD, nil
}

func passedFDs(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse passed files: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, fmt.Errorf("parse passed files: %w", err)
		}
		fds = append(fds, got...)
	}
	if len(fds) < 2 {
		return nil, fmt.Errorf("spare init got %d files, want stdout and stderr at least", len(fds))
	}
	return fds, nil
}

// placeFDs moves fds[i] to i+1 without close-on-exec. Targets from 3 on must
// be free; 1 and 2 (/dev/null until now) are replaced.
func placeFDs(fds []int) error {
	high := make([]int, len(fds))
	for i, fd := range fds {
		h, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 200)
		if err != nil {
			return fmt.Errorf("move passed file: %w", err)
		}
		unix.Close(fd)
		high[i] = h
	}
	for i, h := range high {
		target := i + 1
		if _, err := unix.FcntlInt(uintptr(target), unix.F_GETFD, 0); target > 2 && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("place passed file: fd %d is in use", target)
		}
		if err := unix.Dup3(h, target, 0); err != nil {
			return fmt.Errorf("place passed file at fd %s: %w", strconv.Itoa(target), err)
		}
		unix.Close(h)
	}
	return nil
}
