package process

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = 30 * time.Second
	backoffReset = 10 * time.Second
)

// replica is one supervised watchdog, restarted with a backoff when it crashes.
type replica struct {
	f      *function
	id     string
	rev    *revision
	stopCh chan struct{} // closed when the replica is asked to stop
	done   chan struct{} // closed when its supervisor has returned

	// Guarded by f.mu.
	state     runtime.ReplicaState
	address   string
	restarts  int
	message   string
	startedAt time.Time
	proc      Process
	stopping  bool
	starts    int
	// killReason, when set, explains the next exit (the runtime killed the replica).
	killReason string
}

// kill ends the running replica process with SIGKILL; the supervisor restarts
// it and reports reason as the exit's cause.
func (r *replica) kill(reason string) {
	r.f.mu.Lock()
	proc := r.proc
	r.killReason = reason
	r.f.mu.Unlock()
	if proc != nil {
		_ = proc.Signal(syscall.SIGKILL)
	}
}

// startReplica creates a replica of rev and starts supervising it; f.mu is held.
func (f *function) startReplica(rev *revision) *replica {
	r := &replica{
		f:      f,
		id:     f.ref.Name + "-" + randomSuffix(),
		rev:    rev,
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
		state:  runtime.StateStarting,
	}
	go r.supervise()
	return r
}

func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// supervise runs the replica until it is stopped, restarting it after crashes.
func (r *replica) supervise() {
	defer close(r.done)
	backoff := backoffMin
	for {
		started := time.Now()
		info, err := r.runOnce()
		f := r.f
		f.mu.Lock()
		if r.stopping {
			f.mu.Unlock()
			return
		}
		msg := exitMessage(info, err)
		if r.killReason != "" {
			msg, r.killReason = r.killReason, ""
		}
		r.state, r.message, r.address = runtime.StateCrashed, msg, ""
		restarts := r.restarts
		f.mu.Unlock()
		f.rt.log.Warn("replica exited", "function", f.ref.String(), "replica", r.id,
			"reason", msg, "restarts", restarts, "backoff", backoff.String())
		// Say it in the function's own log too: that is where its owner looks.
		f.logs.append(runtime.LogEntry{Instance: r.id, Time: time.Now(),
			Text: fmt.Sprintf("fjord: replica exited: %s; restarting in %s\n", msg, backoff)})
		f.publish()
		if time.Since(started) >= backoffReset {
			backoff = backoffMin
		}
		select {
		case <-time.After(backoff):
		case <-r.stopCh:
			return
		}
		backoff = min(backoff*2, backoffMax)
		f.mu.Lock()
		r.restarts++
		r.state = runtime.StateStarting
		f.mu.Unlock()
	}
}

func exitMessage(info ExitInfo, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case info.OOMKilled:
		return "OOM killed"
	case info.Signal != 0:
		return fmt.Sprintf("killed by signal %d", info.Signal)
	default:
		return fmt.Sprintf("exited with code %d", info.Code)
	}
}

// stop removes the replica's endpoint, sends SIGTERM, and SIGKILL after
// StopTimeout or when ctx ends; it returns once the supervisor is done.
func (r *replica) stop(ctx context.Context) {
	f := r.f
	f.mu.Lock()
	first := !r.stopping
	if first {
		r.stopping = true
		r.state = runtime.StateStopping
		close(r.stopCh)
	}
	proc := r.proc
	f.mu.Unlock()
	if !first {
		<-r.done
		return
	}
	f.publish()
	if proc != nil && f.rt.cfg.DrainDelay > 0 {
		select {
		case <-time.After(f.rt.cfg.DrainDelay):
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	proc = r.proc
	f.mu.Unlock()
	if proc != nil {
		r.signal(proc, syscall.SIGTERM)
	}
	timer := time.NewTimer(f.rt.cfg.StopTimeout)
	defer timer.Stop()
	select {
	case <-r.done:
		return
	case <-timer.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	proc = r.proc
	f.mu.Unlock()
	if proc != nil {
		r.signal(proc, syscall.SIGKILL)
	}
	<-r.done
}

func (r *replica) signal(p Process, sig os.Signal) {
	if err := p.Signal(sig); err != nil {
		r.f.rt.log.Warn("signal replica failed", "replica", r.id, "signal", sig.String(), "err", err)
	}
}
