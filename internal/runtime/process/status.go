package process

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// watchRoll completes a rolling update once every new replica is ready, or
// rolls back to the stable replicas when that takes longer than ReadyTimeout.
func (f *function) watchRoll(ctx context.Context, rev *revision) {
	timer := time.NewTimer(f.rt.cfg.ReadyTimeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		if ctx.Err() != nil {
			f.mu.Unlock()
			return
		}
		if len(f.replicas) == f.desired && allReady(f.replicas) {
			f.stopAsyncLocked(f.retiring)
			f.retiring, f.stable, f.roll = nil, nil, nil
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		select {
		case <-f.kick:
		case <-ctx.Done():
			return
		case <-timer.C:
			f.rollback(ctx, rev)
			return
		}
	}
}

func allReady(rs []*replica) bool {
	for _, r := range rs {
		if r.state != runtime.StateReady {
			return false
		}
	}
	return true
}

func (f *function) rollback(ctx context.Context, rev *revision) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	msg := fmt.Sprintf("update to revision %d failed: replicas not ready within %s", rev.spec.Revision, f.rt.cfg.ReadyTimeout)
	for _, r := range f.replicas {
		if r.message != "" {
			msg += ": " + r.message
			break
		}
	}
	f.rt.log.Warn("rolling update failed", "function", f.ref.String(), "revision", rev.spec.Revision, "reason", msg)
	f.stopAsyncLocked(f.replicas)
	f.replicas, f.cur = f.retiring, f.stable
	f.retiring, f.stable, f.roll = nil, nil, nil
	f.message = msg
	f.scaleLocked()
}

// status reports the function's replicas: retiring, current, then stopping ones.
func (f *function) status() runtime.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := runtime.Status{Ref: f.ref, Desired: f.desired, Message: f.message}
	all := append(append([]*replica{}, f.retiring...), f.replicas...)
	for r := range f.stopping {
		all = append(all, r)
	}
	for _, r := range all {
		st.Replicas = append(st.Replicas, runtime.Replica{
			ID:        r.id,
			Address:   r.address,
			State:     r.state,
			Restarts:  r.restarts,
			Message:   r.message,
			StartedAt: r.startedAt,
			Revision:  r.rev.spec.Revision,
		})
	}
	return st
}

// publish hands the current set of ready endpoints to every listener when it
// changed. pubMu keeps concurrent publishes in order.
func (f *function) publish() {
	f.pubMu.Lock()
	defer f.pubMu.Unlock()
	f.mu.Lock()
	var eps []runtime.Endpoint
	removed := f.removed
	if !removed {
		for _, rs := range [][]*replica{f.retiring, f.replicas} {
			for _, r := range rs {
				if r.state == runtime.StateReady {
					eps = append(eps, runtime.Endpoint{ID: r.id, Address: r.address, Direct: f.directOf(r)})
				}
			}
		}
	}
	f.mu.Unlock()
	f.poke()
	if slices.Equal(eps, f.published) && (eps != nil || f.published != nil || !removed) {
		return
	}
	f.published = eps
	for _, l := range f.rt.subscribers() {
		l(f.ref, eps)
	}
}
