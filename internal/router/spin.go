package router

import (
	"sync/atomic"
	"time"
)

// Spin-waiting for a fast function's answer.
//
// A call that the router sends to a replica and then sleeps on costs two
// wake-ups on the way back: the replica's answer wakes a parked thread of the
// daemon, often on an idle CPU that has to be brought out of its halt (a
// virtual machine's vCPU in particular). While the daemon has spare CPUs,
// the router instead polls the replica's socket for up to SpinWait, so the
// answer is picked up as soon as it lands. It never spins with fewer than two
// CPUs for Go, nor while the daemon is busy: when more calls are in flight
// than half those CPUs (a spinning call holds one), or were at any call's
// start in the last busyWindow (under load from many connections the count
// inside the router can dip to one while more calls wait, unread, on
// their sockets). A replica whose answers keep missing the
// budget (spinMissMax polls in a row) is not polled for its next spinSkip
// calls, so a slow function costs a few wasted polls now and then, not one
// per call.

// DefaultSpinWait is how long a call may poll for its answer by default:
// not at all. Whether spinning pays depends on the host: on one VM host
// (AMD EPYC, idle vCPUs halted) 150 µs took the gateway's added p50 at one
// connection from ~0.125 to ~0.07 ms; on another (Intel Xeon) the same
// budget cut the throughput at one connection from 0.57–0.62× direct to
// 0.47–0.52× (docs/performance.md). --spin-wait turns it on.
const DefaultSpinWait = 0

// busyWindow is how long a moment of too many calls in flight keeps the
// router from spinning.
const busyWindow = 10 * time.Millisecond

// spinPolicy decides per wait whether to spin. budget and maxInflight are
// fixed at New.
type spinPolicy struct {
	budget      time.Duration // 0: never spin
	maxInflight int64         // spin only with at most this many calls in flight
	busyUntil   atomic.Int64  // no spinning before this (UnixNano)
	spinning    atomic.Int64  // waits spinning now, at most maxInflight
}

// newSpinPolicy returns the policy for budget with procs CPUs for Go
// (runtime.GOMAXPROCS).
func newSpinPolicy(budget time.Duration, procs int) *spinPolicy {
	if budget <= 0 || procs < 2 {
		return &spinPolicy{}
	}
	return &spinPolicy{budget: budget, maxInflight: int64(procs / 2)}
}

// started notes a call's start with inflight calls in flight, this one
// included: too many mark the router busy for busyWindow.
func (p *spinPolicy) started(inflight int64) {
	if p.budget > 0 && inflight > p.maxInflight {
		p.busyUntil.Store(time.Now().Add(busyWindow).UnixNano())
	}
}

const (
	spinMissMax = 3  // polls in a row that timed out before a socket is skipped
	spinSkip    = 64 // waits on such a socket that do not poll
)

// spinState is the recent history of the waits on one replica: polls that
// timed out in a row and waits still to make without polling. Concurrent
// waits may race on it; that only shifts when the next poll happens.
type spinState struct{ misses, skip atomic.Int32 }

// wait polls c (which has a raw conn) until it is readable or the budget runs
// out, when the policy allows it with inflight calls in flight (the waiting
// one included). It returns as soon as c has data, is closed or fails; the
// caller then reads as usual (and sleeps in the poller if the budget ran out
// first).
func (p *spinPolicy) wait(c *upConn, st *spinState, inflight int64) {
	if p.budget == 0 || inflight > p.maxInflight {
		return
	}
	now := time.Now()
	if now.UnixNano() < p.busyUntil.Load() {
		return
	}
	if st.skip.Load() > 0 {
		st.skip.Add(-1)
		return
	}
	if p.spinning.Add(1) > p.maxInflight {
		p.spinning.Add(-1)
		return
	}
	defer p.spinning.Add(-1)
	end := now.Add(p.budget)
	for time.Now().Before(end) {
		if !c.wouldBlock() {
			st.misses.Store(0)
			return
		}
	}
	if st.misses.Add(1) >= spinMissMax {
		st.misses.Store(0)
		st.skip.Store(spinSkip)
	}
}

// BeginRequest tells the router that the gateway started serving a request
// other than a function call of the fast path (the system API, async
// enqueues, the async workers' calls, streams), and EndRequest that it
// ended: spin-waiting counts them with the calls in flight, so that it only
// happens while the whole daemon, not only the router, has CPUs to spare.
// With spinning off (the default) neither counts anything.
func (r *Router) BeginRequest() {
	if r.spin.budget > 0 {
		r.spin.started(r.others.Add(1) + r.inflight.Load())
	}
}

// EndRequest ends what BeginRequest began.
func (r *Router) EndRequest() {
	if r.spin.budget > 0 {
		r.others.Add(-1)
	}
}
