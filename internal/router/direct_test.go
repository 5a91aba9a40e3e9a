package router

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// directUpstream starts a function server and registers it as fn's direct
// address, behind a watchdog address nothing listens on: a call that reaches
// the function went the direct way.
func (h *harness) directUpstream(t testing.TB, fn http.HandlerFunc) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(fn)
	t.Cleanup(up.Close)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	watchdog := dead.Addr().String()
	dead.Close()
	h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: watchdog, Direct: up.Listener.Addr().String()}})
	return up
}

func TestDirectHeaders(t *testing.T) {
	h := newHarness(t, 2*time.Second)
	var seen http.Header
	h.directUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		if r.URL.Query().Get("own") != "" {
			w.Header().Set(HeaderDuration, "0.5")
		}
		w.Header()["Content-Type"] = nil
		_, _ = w.Write([]byte("hi"))
	})
	tests := []struct {
		name, query string
		own         bool
	}{
		{name: "router measures", query: ""},
		{name: "function's own kept", query: "?own=1", own: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustReq(t, "POST", h.srv.URL+"/function/fn.openfaas-fn"+tt.query, "x")
			req.Header.Set(HeaderCallID, "abc")
			resp, body := h.do(t, req)
			if resp.StatusCode != 200 || body != "hi" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if seen.Get(HeaderCallID) != "abc" || seen.Get(HeaderStartTime) == "" || seen.Get("X-Forwarded-For") == "" {
				t.Errorf("forwarded headers %v", seen)
			}
			for _, k := range []string{HeaderCallID, HeaderStartTime, HeaderServedBy} {
				if resp.Header.Get(k) == "" {
					t.Errorf("response lacks %s", k)
				}
			}
			if resp.Header.Get("Content-Type") != "text/plain" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			d := resp.Header.Get(HeaderDuration)
			if tt.own && d != "0.5" {
				t.Errorf("function's %s replaced: %q", HeaderDuration, d)
			}
			if v, err := strconv.ParseFloat(d, 64); err != nil || v < 0 || (!tt.own && !strings.Contains(d, ".")) {
				t.Errorf("%s = %q", HeaderDuration, d)
			}
		})
	}
}

func TestDirectTimeout(t *testing.T) {
	h := newHarness(t, 150*time.Millisecond)
	h.directUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("sleep"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte("done"))
	})
	tests := []struct {
		name, sleep, xTimeout string
		code                  int
	}{
		{name: "in time", sleep: "1ms", code: 200},
		{name: "exceeded", sleep: "2s", code: 504},
		{name: "X-Timeout shortens", sleep: "100ms", xTimeout: "20ms", code: 504},
		{name: "X-Timeout cannot extend", sleep: "2s", xTimeout: "10s", code: 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn?sleep="+tt.sleep, "")
			if tt.xTimeout != "" {
				req.Header.Set(HeaderCallTimeout, tt.xTimeout)
			}
			began := time.Now()
			resp, body := h.do(t, req)
			if resp.StatusCode != tt.code {
				t.Fatalf("code %d %q, want %d", resp.StatusCode, body, tt.code)
			}
			if tt.code != 504 {
				return
			}
			if resp.Header.Get(HeaderTimeout) != "1" || resp.Header.Get(HeaderCallID) == "" || body == "" {
				t.Errorf("504 headers %v body %q", resp.Header, body)
			}
			if took := time.Since(began); took > time.Second {
				t.Errorf("504 after %s; the timeout is 150ms", took)
			}
		})
	}
}

func TestDirectConnectionError(t *testing.T) {
	h := newHarness(t, time.Second)
	up := h.directUpstream(t, func(w http.ResponseWriter, r *http.Request) {})
	up.Close()
	resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
	if resp.StatusCode != 502 || body != "" || resp.Header.Get(HeaderTimeout) != "" {
		t.Fatalf("got %d %q %v, want 502 with an empty body", resp.StatusCode, body, resp.Header)
	}
}

func TestDirectServerSentEvents(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	release := make(chan struct{})
	h.directUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: one\n\n"))
		w.(http.Flusher).Flush()
		<-release
	})
	defer close(release)
	resp, err := http.DefaultClient.Do(mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(HeaderDuration) == "" {
		t.Error("no X-Duration-Seconds on a stream")
	}
	expectFirstLine(t, resp.Body, "data: one\n")
}

// TestDirectEndpointChange checks an endpoint switching between the watchdog
// and the direct path is replaced, not kept with its old target.
func TestDirectEndpointChange(t *testing.T) {
	h := newHarness(t, time.Second)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: "127.0.0.1:1", Direct: up}})
	h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: "127.0.0.1:1"}})
	if set := h.router.function(fnRef).set.Load(); len(set.eps) != 1 || set.eps[0].direct != "" {
		t.Fatalf("endpoints %+v", set.eps)
	}
}
