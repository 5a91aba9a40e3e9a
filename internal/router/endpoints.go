package router

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// errNoEndpoints: no replica became ready within the function's timeout.
var errNoEndpoints = errors.New("no endpoints available")

// endpoint is one ready replica with its in-flight call count. direct, when
// set, is the function's own server, called instead of the watchdog at addr.
type endpoint struct {
	id, addr, direct string
	inflight         atomic.Int64
	pool             connPool  // fast-path connections to direct, else addr
	spin             spinState // the waits for its answers (see spin.go)
}

// endpointSet is an immutable snapshot of a function's ready endpoints.
// When it is empty, ready is closed as soon as a non-empty snapshot replaces it.
type endpointSet struct {
	eps   []*endpoint
	ready chan struct{}
}

// function is the routing state of one function.
type function struct {
	ref   runtime.Ref
	label string // "name.namespace" for metrics
	set   atomic.Pointer[endpointSet]
	next  atomic.Uint32
	mu    sync.Mutex // serialises updates; readers never take it
}

func newFunction(ref runtime.Ref) *function {
	f := &function{ref: ref, label: ref.String()}
	f.set.Store(&endpointSet{ready: make(chan struct{})})
	return f
}

// update publishes a new snapshot, keeping the in-flight counters of endpoints
// that stay, and wakes the calls waiting for a first endpoint.
func (f *function) update(eps []runtime.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.set.Load()
	if len(eps) == 0 {
		if len(old.eps) > 0 {
			f.set.Store(&endpointSet{ready: make(chan struct{})})
			closeRemoved(old.eps, nil)
		}
		return
	}
	next := &endpointSet{eps: make([]*endpoint, 0, len(eps))}
	for _, e := range eps {
		ep := findEndpoint(old.eps, e)
		if ep == nil {
			ep = &endpoint{id: e.ID, addr: e.Address, direct: e.Direct}
		}
		next.eps = append(next.eps, ep)
	}
	f.set.Store(next)
	if old.ready != nil {
		close(old.ready)
	}
	closeRemoved(old.eps, next.eps)
}

// closeRemoved closes the pooled connections of endpoints that left the set.
func closeRemoved(old, next []*endpoint) {
	for _, ep := range old {
		kept := false
		for _, n := range next {
			if n == ep {
				kept = true
				break
			}
		}
		if !kept {
			ep.pool.close()
		}
	}
}

func findEndpoint(eps []*endpoint, e runtime.Endpoint) *endpoint {
	for _, ep := range eps {
		if ep.id == e.ID && ep.addr == e.Address && ep.direct == e.Direct {
			return ep
		}
	}
	return nil
}

// pick returns the endpoint with the fewest calls in flight, starting the scan
// at a rotating index so that idle replicas share the load evenly.
func (f *function) pick(set *endpointSet) *endpoint {
	eps := set.eps
	n := uint32(len(eps))
	if n == 1 {
		return eps[0]
	}
	start := f.next.Add(1)
	best := eps[start%n]
	bestN := best.inflight.Load()
	for i := uint32(1); i < n && bestN > 0; i++ {
		e := eps[(start+i)%n]
		if c := e.inflight.Load(); c < bestN {
			best, bestN = e, c
		}
	}
	return best
}

// await returns a non-empty snapshot, waking the function from zero and waiting
// (for a signal, not polling) up to timeout when none is ready.
func (r *Router) await(ctx context.Context, f *function, timeout time.Duration) (*endpointSet, error) {
	set := f.set.Load()
	if len(set.eps) > 0 {
		return set, nil
	}
	if err := r.cfg.Functions.WakeUp(ctx, f.ref); err != nil {
		return nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		set = f.set.Load()
		if len(set.eps) > 0 {
			return set, nil
		}
		select {
		case <-set.ready:
		case <-timer.C:
			return nil, errNoEndpoints
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
