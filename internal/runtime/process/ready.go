package process

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

const (
	// pipeGrace is how long a fjord watchdog may take to signal readiness on
	// its pipe before the runtime falls back to polling /_/health.
	pipeGrace     = time.Second
	pollInterval  = 10 * time.Millisecond
	pollMax       = 500 * time.Millisecond
	healthFailMax = 3
)

// watchReady marks the replica ready once its watchdog is, then checks its
// health periodically until ctx ends (the process exited).
func (r *replica) watchReady(ctx context.Context, readyR *os.File, addr string) {
	defer readyR.Close()
	if !r.waitReady(ctx, readyR, addr) {
		return
	}
	if p := r.rev.spec.ReadyPath; p != "" && !r.poll(ctx, addr, p) {
		return
	}
	if !r.setReady(ctx, true, "") {
		return
	}
	r.liveness(ctx, addr)
}

// waitReady returns true when the watchdog wrote to its ready pipe or, failing
// that, answers /_/health.
func (r *replica) waitReady(ctx context.Context, readyR *os.File, addr string) bool {
	got := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := readyR.Read(b)
		got <- n > 0
	}()
	fallback := time.NewTimer(pipeGrace)
	defer fallback.Stop()
	for {
		select {
		case ok := <-got:
			if ok {
				return true
			}
			return r.poll(ctx, addr, "/_/health") // pipe closed without a word
		case <-fallback.C:
			return r.poll(ctx, addr, "/_/health")
		case <-ctx.Done():
			return false
		}
	}
}

// poll probes path until it answers 2xx or ctx ends, backing off from
// pollInterval to pollMax so a replica that never gets ready is not flooded.
func (r *replica) poll(ctx context.Context, addr, path string) bool {
	interval := pollInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		if r.probe(ctx, addr, path) {
			return true
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
		interval = min(interval*3/2, pollMax)
		t.Reset(interval)
	}
}

func (r *replica) probe(ctx context.Context, addr, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return false
	}
	resp, err := r.f.rt.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// setReady switches the replica between ready and starting and publishes the
// change; it returns false when the replica is stopping or gone.
func (r *replica) setReady(ctx context.Context, ready bool, msg string) bool {
	f := r.f
	f.mu.Lock()
	if r.stopping || ctx.Err() != nil {
		f.mu.Unlock()
		return false
	}
	r.state = runtime.StateStarting
	if ready {
		r.state = runtime.StateReady
	}
	if msg != "" {
		r.message = msg
	}
	f.mu.Unlock()
	f.publish()
	return true
}

// liveness takes an unhealthy replica out of rotation until it recovers.
func (r *replica) liveness(ctx context.Context, addr string) {
	t := time.NewTicker(r.f.rt.cfg.HealthInterval)
	defer t.Stop()
	fails := 0
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if r.probe(ctx, addr, "/_/health") {
			if fails >= healthFailMax && !r.setReady(ctx, true, "") {
				return
			}
			fails = 0
			continue
		}
		fails++
		if fails == healthFailMax && !r.setReady(ctx, false, "health check failed") {
			return
		}
	}
}
