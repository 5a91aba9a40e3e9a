package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// spare is an init started ahead of time in its own namespaces (and, on
// cgroup v1, in a cgroup of its own), blocked reading its spec (and the
// replica's files) from sock.
type spare struct {
	cmd  *exec.Cmd
	sock *os.File // our end of a SOCK_SEQPACKET pair
	errR *os.File
	nice int // the daemon's nice value, to restore when taken
	// g is the cgroup the spare joined while it waits (see spareDriver),
	// which a start that takes it turns into the replica's; nil without one.
	g group

	// made is closed once the spare waits for its spec (it is then queued)
	// or failed to get there.
	made chan struct{}
	mu   sync.Mutex
	pid  int  // set once started
	fast bool // a start waits for it: it runs at the daemon's priority
}

// takeSpare returns a waiting spare init, or nil. Only launches whose output
// goes to files can use one: their fds are passed over the socket. When no
// spare waits but one is being made, it waits for that one at the daemon's
// priority rather than starting a second init beside it.
func (s *Sandbox) takeSpare(ctx context.Context, l process.Launch) *spare {
	if s.spares == nil {
		return nil
	}
	if _, ok := l.Stdout.(*os.File); !ok {
		return nil
	}
	if _, ok := l.Stderr.(*os.File); !ok {
		return nil
	}
	select {
	case sp := <-s.spares:
		return sp
	default:
	}
	s.spareMu.Lock()
	m := s.making
	s.spareMu.Unlock()
	if m == nil {
		return nil
	}
	m.hurry()
	select {
	case sp := <-s.spares:
		return sp
	case <-m.made:
		select {
		case sp := <-s.spares:
			return sp
		default:
			return nil
		}
	case <-ctx.Done():
		return nil
	}
}

// refill starts a spare init in the background unless one is being made or
// the spares are complete. A start calls it once it no longer writes to
// cgroup.procs: that write waits for an RCU grace period, which a CPU busy
// with a starting spare makes last several milliseconds.
func (s *Sandbox) refill() {
	if s.spares == nil {
		return
	}
	s.spareMu.Lock()
	if s.closed || s.making != nil || len(s.spares) == cap(s.spares) {
		s.spareMu.Unlock()
		return
	}
	sp := &spare{made: make(chan struct{})}
	s.making = sp
	s.spareMu.Unlock()
	go func() {
		defer close(sp.made)
		var tasks []string
		if sd, ok := s.cg.(spareDriver); ok {
			g, err := sd.createSpare(spareCgroupPrefix + randomHex())
			if err != nil {
				s.log.Warn("create spare cgroup failed", "err", err)
			} else {
				sp.g, tasks = g, g.threadFiles()
			}
		}
		err := sp.start(s.cfg.Self, &s.starter, tasks)
		if err == nil {
			err = sp.waitIdle()
		}
		if err != nil {
			sp.kill()
		}
		s.spareMu.Lock()
		s.making = nil
		keep := err == nil && !s.closed
		if keep {
			select {
			case s.spares <- sp:
			default:
				keep = false
			}
		}
		s.spareMu.Unlock()
		if err != nil {
			s.log.Warn("start spare sandbox init failed", "err", err)
		} else if !keep {
			sp.kill()
		}
	}()
}

// Close kills the spare inits and removes their cgroups; no spare is made
// after it. Call it once no more replicas are started.
func (s *Sandbox) Close() error {
	s.spareMu.Lock()
	s.closed = true
	m := s.making
	s.spareMu.Unlock()
	if m != nil {
		<-m.made
	}
	for {
		select {
		case sp := <-s.spares:
			sp.kill()
		default:
			return nil
		}
	}
}

// randomHex names a spare's cgroup.
func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// start starts an init that waits for its spec on a socket (fd 3). With
// tasks (see group.threadFiles), every thread of the init moves itself into
// that cgroup before it says it waits.
func (sp *spare) start(self []string, starter *spareStarter, tasks []string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("make spare socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spare-spec"), os.NewFile(uintptr(fds[1]), "spare-spec")
	defer theirs.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		ours.Close()
		return fmt.Errorf("make error pipe: %w", err)
	}
	defer errW.Close()
	args := append(append([]string(nil), self[1:]...), "3", "4")
	cmd := initCommand(self[0], args)
	cmd.ExtraFiles = []*os.File{theirs, errW}
	if len(tasks) > 0 {
		cmd.Env = []string{spareCgroupEnv + "=" + strings.Join(tasks, "\n")}
	}
	nice, err := starter.start(cmd)
	if err != nil {
		ours.Close()
		errR.Close()
		return fmt.Errorf("start spare sandbox init: %w", err)
	}
	sp.cmd, sp.sock, sp.errR, sp.nice = cmd, ours, errR, nice
	sp.mu.Lock()
	sp.pid = cmd.Process.Pid
	fast := sp.fast
	sp.mu.Unlock()
	if fast {
		sp.renice()
	}
	return nil
}

// hurry gives a spare being made the daemon's priority, now or once started.
func (sp *spare) hurry() {
	sp.mu.Lock()
	sp.fast = true
	started := sp.pid != 0
	sp.mu.Unlock()
	if started {
		sp.renice()
	}
}

// waitIdle blocks until the spare init says it waits for its spec.
func (sp *spare) waitIdle() error {
	var b [1]byte
	n, err := unix.Read(int(sp.sock.Fd()), b[:])
	if err == nil && n != 1 {
		// The init closed the socket: it exited, after writing why if it knew.
		err = errors.New("spare init exited")
		if msg, _ := io.ReadAll(io.LimitReader(sp.errR, 4096)); len(msg) > 0 {
			err = fmt.Errorf("%w: %s", err, msg)
		}
	}
	if err != nil {
		return fmt.Errorf("wait for spare init: %w", err)
	}
	return nil
}

// spareStarter runs the starts of spare inits on one OS thread of its own,
// lowered to spareNice, so each child and every thread it makes start with
// that priority. Where it can, the thread also hands its children an empty
// capability bounding set, with its permitted capabilities made inheritable:
// root's exec turns those into the child's permitted set again, so a spare
// needs no all-threads bounding drop (a stop-the-world per capability) while
// it starts. The thread lives as long as the daemon: a child's parent-death
// signal follows the thread that forked it.
type spareStarter struct {
	once sync.Once
	reqs chan startReq
	nice int // the daemon's nice value, read before the thread is lowered
}

type startReq struct {
	cmd  *exec.Cmd
	done chan error
}

// start starts cmd from the starter thread and returns the daemon's nice value.
func (st *spareStarter) start(cmd *exec.Cmd) (int, error) {
	st.once.Do(func() {
		st.reqs = make(chan startReq)
		ready := make(chan struct{})
		go st.loop(ready)
		<-ready
	})
	req := startReq{cmd: cmd, done: make(chan error, 1)}
	st.reqs <- req
	return st.nice, <-req.done
}

func (st *spareStarter) loop(ready chan<- struct{}) {
	runtime.LockOSThread() // never unlocked: the thread stays lowered
	tid := unix.Gettid()
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil {
		st.nice = 20 - prio // the raw syscall returns 20 - nice
		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, spareNice)
	}
	_ = emptyBoundingForExec()
	close(ready)
	for req := range st.reqs {
		req.done <- req.cmd.Start()
	}
}

// emptyBoundingForExec makes this thread's permitted capabilities inheritable
// and empties its bounding set. A child it execs as root gets the permitted
// set bounding | inheritable, that is the same capabilities, with an empty
// bounding set. Inheritable capabilities never reach a function: dropping
// privileges clears every set. On failure the child just gets a full
// bounding set, which it drops itself.
func emptyBoundingForExec() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	for i := range data {
		data[i].Inheritable = data[i].Permitted
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	last := capLastCap()
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return err
		}
	}
	return nil
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
	if err := unix.Sendmsg(int(sp.sock.Fd()), b, unix.UnixRights(fds...), nil, 0); err != nil {
		return fmt.Errorf("send spec to spare init: %w", err)
	}
	return nil
}

// release tells the spare, once it is in the replica's cgroup, to run the
// function (see initSpec.Gated).
func (sp *spare) release() error {
	if _, err := unix.Write(int(sp.sock.Fd()), []byte{'g'}); err != nil {
		return fmt.Errorf("release spare init: %w", err)
	}
	return nil
}

// kill ends the spare and removes its cgroup (it may not have started).
func (sp *spare) kill() {
	if sp.cmd != nil && sp.cmd.Process != nil {
		sp.sock.Close()
		sp.errR.Close()
		_ = sp.cmd.Process.Kill()
		_ = sp.cmd.Wait()
	}
	if sp.g != nil {
		_ = removeGroup(sp.g)
	}
}

// spareCgroupEnv carries, to a spare init, the tasks files of the cgroup it
// joins while it waits, one per line.
const spareCgroupEnv = "FJORD_SPARE_CGROUP"

// receiveSpec is the spare init's side of send: it moves its own fds out of
// the way, receives the spec and places the passed files at 1, 2, 3, ...
// It uses raw fds only, so the runtime's poller has opened no fd yet that
// could sit where a passed file must go.
func receiveSpec(sockFD, errFD int) (spec initSpec, newErrFD, gateFD int, err error) {
	gateFD = -1
	sock, err := unix.FcntlInt(uintptr(sockFD), unix.F_DUPFD_CLOEXEC, 100)
	if err != nil {
		return spec, errFD, gateFD, fmt.Errorf("move spec socket: %w", err)
	}
	defer func() {
		if gateFD != sock {
			unix.Close(sock)
		}
	}()
	if newErrFD, err = unix.FcntlInt(uintptr(errFD), unix.F_DUPFD_CLOEXEC, 100); err != nil {
		return spec, errFD, gateFD, fmt.Errorf("move error pipe: %w", err)
	}
	unix.Close(sockFD)
	unix.Close(errFD)
	if _, err := unix.Write(sock, []byte{'w'}); err != nil {
		return spec, newErrFD, gateFD, fmt.Errorf("tell the daemon the spare waits: %w", err)
	}
	buf, oob := make([]byte, maxSpecSize), make([]byte, unix.CmsgSpace(64*4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return spec, newErrFD, gateFD, fmt.Errorf("receive sandbox spec: %w", err)
	}
	fds, err := passedFDs(oob[:oobn])
	if err != nil {
		return spec, newErrFD, gateFD, err
	}
	if err := placeFDs(fds); err != nil {
		return spec, newErrFD, gateFD, err
	}
	if err := json.Unmarshal(buf[:n], &spec); err != nil {
		return spec, newErrFD, gateFD, fmt.Errorf("read sandbox spec: %w", err)
	}
	if spec.Nice != nil && !threadsAtNice(*spec.Nice) {
		// Threads made after the daemon's renice still have spareNice. Without
		// all-threads syscalls (cgo) this thread, which execs, is enough.
		prio := uintptr(*spec.Nice)
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, prio); e == syscall.ENOTSUP {
			_ = unix.Setpriority(unix.PRIO_PROCESS, 0, *spec.Nice)
		}
	}
	if spec.Gated {
		gateFD = sock
	}
	return spec, newErrFD, gateFD, nil
}

// threadsAtNice reports whether every thread of this process has the given
// nice value already (the daemon reniced them when it took the spare), which
// spares a stop-the-world of all threads. Any doubt answers false.
func threadsAtNice(nice int) bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil || len(tasks) == 0 {
		return false
	}
	want := strconv.Itoa(nice)
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/stat")
		if err != nil {
			return false
		}
		// Field 19 is the nice value; the command name before it may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if f := strings.Fields(string(b[i+1:])); i < 0 || len(f) < 17 || f[16] != want {
			return false
		}
	}
	return true
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
