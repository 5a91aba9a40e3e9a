package process

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

const (
	// pipeGrace is how long a fjord watchdog may take to signal readiness on
	// its pipe before the runtime falls back to polling /_/health.
	pipeGrace     = time.Second
	pollInterval  = 10 * time.Millisecond
	pollMax       = 500 * time.Millisecond
	healthFailMax = 3
	// healthFailKill consecutive failed health checks get a replica killed and
	// restarted: a hung watchdog does not come back by itself.
	healthFailKill = 2 * healthFailMax
)

// watchReady marks the replica ready once its watchdog is, then checks its
// health periodically until ctx ends (the process exited). ph, when not nil,
// holds the steps of the start so far; they are logged at debug level with
// the wait for readiness and the publication of the endpoint.
func (r *replica) watchReady(ctx context.Context, readyR *os.File, addr, launchID string, ph *Phases) {
	defer readyR.Close()
	ok, upstream := r.waitReady(ctx, readyR, addr)
	if !ok {
		return
	}
	ph.Mark("ready")
	if p := r.rev.spec.ReadyPath; p != "" && !r.poll(ctx, addr, p) {
		return
	}
	if upstream != "" && directAllowed(r.rev) {
		r.f.setDirect(r, addr, upstream)
		defer r.f.clearDirect(r, addr)
	}
	if !r.setReady(ctx, true, "") {
		return
	}
	if ph != nil {
		ph.Mark("publish")
		r.f.rt.log.Debug("replica ready", "function", r.f.ref.String(), "replica", launchID, "phases", ph.String())
	}
	r.liveness(ctx, addr)
}

// waitReady returns true when the watchdog wrote to its ready pipe or, failing
// that, answers /_/health; upstream is the function's own address when the
// watchdog reported one.
func (r *replica) waitReady(ctx context.Context, readyR *os.File, addr string) (ok bool, upstream string) {
	got := make(chan readyMsg, 1)
	go func() { got <- readReady(readyR) }()
	fallback := time.NewTimer(pipeGrace)
	defer fallback.Stop()
	select {
	case m := <-got:
		if m.ok {
			return true, m.upstream
		}
		return r.poll(ctx, addr, "/_/health"), "" // pipe closed without a word
	case <-fallback.C:
		return r.poll(ctx, addr, "/_/health"), ""
	case <-ctx.Done():
		return false, ""
	}
}

// readyMsg is what a watchdog wrote on its ready pipe.
type readyMsg struct {
	ok       bool   // it wrote something: it is ready
	upstream string // host:port or unix:@name of the function's own server, if reported
}

// readReady reads the ready message: "\n", or "upstream=HOST:PORT\n" from a
// watchdog whose function may be called directly. EOF before any byte means
// the watchdog gave up (or cannot signal).
func readReady(rd io.Reader) readyMsg {
	buf := make([]byte, 0, 128)
	for len(buf) < cap(buf) {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if bytes.IndexByte(buf, '\n') >= 0 || err != nil {
			break
		}
	}
	return parseReady(buf)
}

// parseReady interprets a ready message; anything but a valid "upstream="
// line (a loopback host:port, or an abstract Unix socket) still means ready,
// without a direct address.
func parseReady(b []byte) readyMsg {
	if len(b) == 0 {
		return readyMsg{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	v, found := bytes.CutPrefix(line, []byte("upstream="))
	if !found {
		return readyMsg{ok: true}
	}
	if sockaddr.ValidAbstract(string(v)) {
		return readyMsg{ok: true, upstream: string(v)}
	}
	host, port, err := net.SplitHostPort(string(v))
	ip := net.ParseIP(host)
	if err != nil || ip == nil || !ip.IsLoopback() {
		return readyMsg{ok: true}
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return readyMsg{ok: true}
	}
	return readyMsg{ok: true, upstream: string(v)}
}

// directAllowed reports whether calls to a replica of rev may bypass its
// watchdog: not when the function relies on something only the watchdog's data
// path does (max_inflight's 429s, request body buffering, call ids in the
// request log), nor when the image sets a timeout the function's own env does
// not (the router enforces the timeout the control plane derives from the
// function's env only, so the image's would be lost).
func directAllowed(rev *revision) bool {
	env := map[string]string{}
	for _, kv := range rev.bundle.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if timeoutEnv(rev.spec.Env) == "" && timeoutEnv(env) != "" {
		return false
	}
	for k, v := range rev.spec.Env {
		env[k] = v
	}
	if n, err := strconv.Atoi(strings.TrimSpace(env["max_inflight"])); err == nil && n > 0 {
		return false
	}
	for _, k := range [...]string{"buffer_http", "http_buffer_req_body", "log_callid"} {
		if b, err := strconv.ParseBool(env[k]); err == nil && b {
			return false
		}
	}
	return true
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+sockaddr.URLHost(addr)+path, nil)
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

// liveness takes an unhealthy replica out of rotation until it recovers, and
// kills it (the supervisor restarts it) when it stays unhealthy.
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
		if fails == healthFailKill {
			r.kill(fmt.Sprintf("killed after %d failed health checks", fails))
			return
		}
	}
}

// timeoutEnv is the timeout setting the control plane reads: exec_timeout,
// else write_timeout; "" when neither is set.
func timeoutEnv(env map[string]string) string {
	for _, k := range [...]string{"exec_timeout", "write_timeout"} {
		if v := strings.TrimSpace(env[k]); v != "" {
			return k + "=" + v
		}
	}
	return ""
}
