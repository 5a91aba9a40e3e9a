package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// endpoints records the latest endpoint set pushed for each function, like a router.
type endpoints struct {
	mu      sync.Mutex
	sets    map[runtime.Ref][]runtime.Endpoint
	changed chan struct{} // closed and replaced on every update
}

func newEndpoints() *endpoints {
	return &endpoints{sets: map[runtime.Ref][]runtime.Endpoint{}, changed: make(chan struct{})}
}

func (e *endpoints) update(ref runtime.Ref, eps []runtime.Endpoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sets[ref] = slices.Clone(eps)
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *endpoints) get(ref runtime.Ref) ([]runtime.Endpoint, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sets[ref], e.changed
}

// wait blocks until the endpoint set of ref satisfies ok.
func (h *harness) waitEndpoints(ref runtime.Ref, what string, ok func([]runtime.Endpoint) bool) []runtime.Endpoint {
	h.t.Helper()
	timer := time.NewTimer(h.timeout)
	defer timer.Stop()
	for {
		eps, changed := h.eps.get(ref)
		if ok(eps) {
			return eps
		}
		select {
		case <-changed:
		case <-timer.C:
			st, err := h.rt.Status(h.ctx, ref)
			h.t.Fatalf("waiting for endpoints of %s (%s): have %v; status %+v, err %v", ref, what, eps, st, err)
		}
	}
}

func (h *harness) waitCount(ref runtime.Ref, n int) []runtime.Endpoint {
	h.t.Helper()
	return h.waitEndpoints(ref, fmt.Sprintf("%d endpoints", n), func(eps []runtime.Endpoint) bool { return len(eps) == n })
}

// client sends calls without keep-alive, so every call opens a new
// connection the way a router does after an endpoint change.
var noKeepAlive = &http.Transport{DisableKeepAlives: true, DialContext: (&sockaddr.Dialer{}).DialContext}

// call posts body to an endpoint and returns the response body.
func call(ctx context.Context, ep runtime.Endpoint, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+sockaddr.URLHost(ep.Address)+"/", bytes.NewBufferString(body))
	if err != nil {
		return 0, "", err
	}
	c := &http.Client{Transport: noKeepAlive, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mustEcho calls ep and fails unless it answers 200 with body.
func mustEcho(t *testing.T, ctx context.Context, ep runtime.Endpoint, body string) {
	t.Helper()
	code, got, err := call(ctx, ep, body)
	if err != nil || code != http.StatusOK || got != body {
		t.Fatalf("call %s (%s): code %d, body %q, err %v; want 200 %q", ep.ID, ep.Address, code, got, err, body)
	}
}

// routedCall calls one of the currently pushed endpoints of ref, as a router
// would. A refused connection never reached the replica, so like a router it
// is retried on the newest endpoint set.
func (h *harness) routedCall(ref runtime.Ref, i int, body string) error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		eps, _ := h.eps.get(ref)
		if len(eps) == 0 {
			return errors.New("no endpoints")
		}
		code, got, err := call(h.ctx, eps[(i+attempt)%len(eps)], body)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			last = err
			continue
		}
		if err != nil {
			return err
		}
		if code != http.StatusOK || got != body {
			return fmt.Errorf("code %d body %q", code, got)
		}
		return nil
	}
	return last
}
