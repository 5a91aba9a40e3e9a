package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/fjord-faas/fjord/internal/runtime/process"
)

// Start launches one replica: the init child is cloned into new mount, PID,
// IPC and UTS namespaces (or a spare init made so ahead of time is taken),
// put in the replica's cgroup and sent its spec; it builds the root and execs
// l.Path. Start returns once that exec succeeded, or with the init's error.
// l.ExtraFiles keep fds 3, 4, ... in the function.
//
// With debug logging on, it logs how long each step took (see process.Phases):
// spare (waiting for one being made), send, cgroup, join, then the init's own
// steps in brackets and started (the exec, or the in-process start).
func (s *Sandbox) Start(ctx context.Context, l process.Launch) (process.Process, error) {
	spec, err := s.spec(l)
	if err != nil {
		return nil, err
	}
	debug := s.log.Enabled(ctx, slog.LevelDebug)
	spec.Trace = debug
	ph := process.NewPhases(debug)
	if sp := s.takeSpare(ctx, l); sp != nil {
		ph.Mark("spare")
		p, err := s.startSpare(ctx, sp, spec, l, ph)
		if err == nil {
			s.logStarted(l, true, ph)
			return p, nil
		}
		if !errors.Is(err, errSpareGone) {
			return nil, err
		}
		s.log.Warn("spare sandbox init unusable, starting a new one", "err", err)
		spec.Nice, spec.Gated, spec.CgroupTasks = nil, false, nil
		ph = process.NewPhases(debug)
	}
	p := &proc{workDir: spec.WorkDir}
	if s.cg != nil {
		if p.g, err = s.cg.create(l.ReplicaID, l.Limits, s.cfg.PidsLimit); err != nil {
			return nil, err
		}
		spec.CgroupTasks = p.g.threadFiles()
		ph.Mark("cgroup")
	}
	err = p.start(ctx, s.cfg.Self, spec, l, ph)
	s.refill()
	if err != nil {
		_ = p.Cleanup() // the start error is the one worth returning
		return nil, err
	}
	s.logStarted(l, false, ph)
	return p, nil
}

// logStarted logs the steps of a start at debug level.
func (s *Sandbox) logStarted(l process.Launch, spare bool, ph *process.Phases) {
	if ph != nil {
		s.log.Debug("sandbox started", "replica", l.ReplicaID, "spare", spare, "phases", ph.String())
	}
}

// proc is a started replica.
type proc struct {
	cmd     *exec.Cmd
	g       group // nil without cgroups
	workDir string

	waitOnce sync.Once
	info     process.ExitInfo
	waitErr  error

	cleanOnce sync.Once
	cleanErr  error
}

func (p *proc) start(ctx context.Context, self []string, spec *initSpec, l process.Launch, ph *process.Phases) error {
	specR, specW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("make spec pipe: %w", err)
	}
	defer specW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		specR.Close()
		return fmt.Errorf("make error pipe: %w", err)
	}
	defer errR.Close()
	// Our pipes come after the caller's files so their fd numbers stay 3, 4, ...
	files := append(append([]*os.File(nil), l.ExtraFiles...), specR, errW)
	specFD, errFD := 3+len(l.ExtraFiles), 4+len(l.ExtraFiles)
	args := append(append([]string(nil), self[1:]...), strconv.Itoa(specFD), strconv.Itoa(errFD))
	p.cmd = initCommand(self[0], args)
	p.cmd.ExtraFiles = files
	p.cmd.Stdout, p.cmd.Stderr = l.Stdout, l.Stderr
	err = p.cmd.Start()
	specR.Close()
	errW.Close()
	if err != nil {
		p.cmd = nil
		return fmt.Errorf("start sandbox init: %w", err)
	}
	ph.Mark("fork")
	if err := p.handshake(ctx, spec, specW, errR, ph); err != nil {
		_ = p.cmd.Process.Kill()
		_, _ = p.Wait()
		return err
	}
	return nil
}

// handshake joins the child to the cgroup, sends the spec and waits until the
// exec of the function closed the error pipe (or the init wrote why it failed).
func (p *proc) handshake(ctx context.Context, spec *initSpec, specW, errR *os.File, ph *process.Phases) error {
	if p.g != nil && len(spec.CgroupTasks) == 0 {
		if err := p.g.add(p.cmd.Process.Pid); err != nil {
			return err
		}
		ph.Mark("join")
	}
	if err := json.NewEncoder(specW).Encode(spec); err != nil {
		return fmt.Errorf("send sandbox spec: %w", err)
	}
	specW.Close()
	trace, err := waitInit(ctx, errR)
	ph.Add("init[" + trace + "]")
	ph.Mark("started")
	return err
}

// startSpare hands the launch to a spare init. The spare gets the spec and
// the files first and makes its mounts while the replica's cgroup is made
// here: on cgroup v1, where the spare waits in a cgroup of its own, that
// cgroup gets the replica's limits and name (see spareDriver), and nothing
// moves. Without one, after the release that follows, its threads move
// themselves into the cgroup before it pivots into its root (see
// v1Group.threadFiles);
// on cgroup2 it is moved in here before the release, with a cgroup.procs
// write that can wait for an RCU grace period, and it runs the function only
// after the release. errSpareGone means the spare could not take the launch
// (it died); the caller may start afresh.
func (s *Sandbox) startSpare(ctx context.Context, sp *spare, spec *initSpec, l process.Launch, ph *process.Phases) (*proc, error) {
	defer sp.errR.Close()
	defer sp.sock.Close()
	p := &proc{cmd: sp.cmd, workDir: spec.WorkDir, g: sp.g}
	sp.renice()
	spec.Nice = &sp.nice
	spec.Gated = true
	if s.cg != nil && sp.g == nil {
		spec.CgroupTasks = s.cg.load(l.ReplicaID).threadFiles()
	}
	if g, ok := sp.g.(*v1Group); ok && g.noCPU && l.Limits.CPUMilli > 0 {
		// The spare waited in the root cpu cgroup; a CPU limit needs the
		// replica's own, which the init joins once released (see adopt).
		spec.CgroupTasks = []string{s.cg.(*v1Driver).cpuTasks(l.ReplicaID)}
	}
	fail := func(err error) (*proc, error) {
		_ = p.cmd.Process.Kill()
		_, _ = p.Wait()
		if errors.Is(err, errSpareGone) {
			// The caller starts afresh in the same work dir.
			if p.g != nil {
				_ = removeGroup(p.g)
			}
		} else {
			_ = p.Cleanup()
		}
		return nil, err
	}
	if err := sp.send(spec, l); err != nil {
		return fail(fmt.Errorf("%w: %w", errSpareGone, err))
	}
	ph.Mark("send")
	if sp.g != nil {
		// The spare is in its own cgroup already: give it the replica's
		// limits and name. Should that fail (e.g. a memory limit below
		// what the spare uses), the caller starts afresh.
		g, err := s.cg.(spareDriver).adopt(sp.g, l.ReplicaID, l.Limits, s.cfg.PidsLimit)
		p.g = g
		if err != nil {
			return fail(fmt.Errorf("%w: %w", errSpareGone, err))
		}
		ph.Mark("cgroup")
	} else if s.cg != nil {
		g, err := s.cg.create(l.ReplicaID, l.Limits, s.cfg.PidsLimit)
		if err != nil {
			return fail(err)
		}
		p.g = g
		ph.Mark("cgroup")
		if len(spec.CgroupTasks) == 0 {
			if err := g.add(p.cmd.Process.Pid); err != nil {
				return fail(fmt.Errorf("%w: %w", errSpareGone, err))
			}
			ph.Mark("join")
		}
	}
	s.refill() // the next spare starts once no cgroup.procs write is left here
	if err := sp.release(); err != nil {
		return fail(fmt.Errorf("%w: %w", errSpareGone, err))
	}
	trace, err := waitInit(ctx, sp.errR)
	ph.Add("init[" + trace + "]")
	ph.Mark("started")
	if err != nil {
		return fail(err)
	}
	return p, nil
}

// errSpareGone marks a spare init that could not take a launch.
var errSpareGone = errors.New("spare sandbox init gone")

// waitInit waits until the exec of the function (or the in-process start)
// closed the error pipe, or the init wrote why it failed.
func waitInit(ctx context.Context, errR *os.File) (trace string, err error) {
	done := make(chan []byte, 1)
	go func() {
		msg, _ := io.ReadAll(errR)
		done <- msg
	}()
	select {
	case msg := <-done:
		trace, msg := splitTrace(msg)
		if len(msg) > 0 {
			return trace, fmt.Errorf("sandbox init: %s", msg)
		}
		return trace, nil
	case <-ctx.Done():
		return "", fmt.Errorf("wait for sandbox init: %w", ctx.Err())
	}
}

// splitTrace separates the step durations a traced init wrote (see
// initSpec.Trace) from what follows them: an error, or nothing.
func splitTrace(msg []byte) (string, []byte) {
	rest, ok := bytes.CutPrefix(msg, []byte(traceMark))
	if !ok {
		return "", msg
	}
	trace, rest, _ := bytes.Cut(rest, []byte("\n"))
	return string(trace), rest
}

// Pid is the host pid of the function (PID 1 of its namespace).
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Wait blocks until the function exits; later calls return the same result.
func (p *proc) Wait() (process.ExitInfo, error) {
	p.waitOnce.Do(func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.waitErr = fmt.Errorf("wait for replica: %w", err)
		}
		p.info = exitInfo(p.cmd.ProcessState)
		if p.g != nil && p.g.oomKills() > 0 {
			p.info.OOMKilled = true
		}
	})
	return p.info, p.waitErr
}

func exitInfo(ps *os.ProcessState) process.ExitInfo {
	if ps == nil {
		return process.ExitInfo{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return process.ExitInfo{Code: -1, Signal: int(ws.Signal())}
	}
	return process.ExitInfo{Code: ps.ExitCode()}
}

// Signal sends sig to the function. As PID 1 of its namespace it only gets
// signals it handles (SIGKILL always works).
func (p *proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Usage reads CPU seconds and memory bytes of the whole replica from its cgroup.
func (p *proc) Usage() (float64, int64, error) {
	if p.g == nil {
		return 0, 0, errors.New("usage: cgroups not available")
	}
	return p.g.usage()
}

// Cleanup kills anything left in the replica's cgroup, deletes it and
// removes the work dir. It is safe to call more than once.
func (p *proc) Cleanup() error {
	p.cleanOnce.Do(func() {
		var errs []error
		if p.g != nil {
			if err := removeGroup(p.g); err != nil {
				errs = append(errs, fmt.Errorf("remove replica cgroup: %w", err))
			}
		} else if p.cmd != nil && p.cmd.Process != nil {
			_ = p.cmd.Process.Kill() // PID 1 dying takes its namespace with it
		}
		if err := os.RemoveAll(p.workDir); err != nil {
			errs = append(errs, fmt.Errorf("remove work dir: %w", err))
		}
		p.cleanErr = errors.Join(errs...)
	})
	return p.cleanErr
}
