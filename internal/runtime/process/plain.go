package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// PlainSandbox runs replicas as ordinary child processes: own process group,
// killed when the daemon dies (Pdeathsig), no isolation and no limits.
type PlainSandbox struct{}

var _ Sandbox = PlainSandbox{}

// Capabilities reports that nothing is isolated or enforced.
func (PlainSandbox) Capabilities() SandboxCaps {
	return SandboxCaps{
		Isolation:    "none",
		LimitsReason: "the plain sandbox runs replicas as ordinary processes; run fjord serve as root for namespaces and cgroups",
	}
}

// CleanupStale has nothing to clean: the plain sandbox leaves no state behind.
func (PlainSandbox) CleanupStale(context.Context) error { return nil }

// Start starts l as a child process in its own process group.
func (PlainSandbox) Start(_ context.Context, l Launch) (Process, error) {
	cmd := &exec.Cmd{
		Path:       l.Path,
		Args:       l.Args,
		Env:        l.Env,
		Dir:        l.Dir,
		ExtraFiles: l.ExtraFiles,
		Stdout:     l.Stdout,
		Stderr:     l.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", l.Path, err)
	}
	return &plainProcess{cmd: cmd}, nil
}

type plainProcess struct {
	cmd *exec.Cmd
}

func (p *plainProcess) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the watchdog and reports how it ended.
func (p *plainProcess) Wait() (ExitInfo, error) {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return ExitInfo{Code: -1}, fmt.Errorf("wait for %d: %w", p.Pid(), err)
	}
	return exitInfo(p.cmd.ProcessState), nil
}

func exitInfo(ps *os.ProcessState) ExitInfo {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return ExitInfo{Code: -1, Signal: int(ws.Signal())}
	}
	return ExitInfo{Code: ps.ExitCode()}
}

// Signal sends SIGKILL to the whole process group (the watchdog and whatever it
// forked) and any other signal to the watchdog alone, so it can shut down gracefully.
func (p *plainProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a syscall signal", sig)
	}
	pid := p.Pid()
	if s == syscall.SIGKILL {
		pid = -pid
	}
	if err := syscall.Kill(pid, s); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %v to %d: %w", sig, pid, err)
	}
	return nil
}

// Usage sums CPU time and resident memory over the watchdog and its children.
func (p *plainProcess) Usage() (float64, int64, error) {
	return treeUsage(p.Pid())
}

// Cleanup kills whatever the watchdog left running in its process group.
func (p *plainProcess) Cleanup() error {
	err := syscall.Kill(-p.Pid(), syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", p.Pid(), err)
	}
	return nil
}
