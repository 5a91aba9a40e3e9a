package router

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-faas/fjord/internal/metrics"
	"github.com/fjord-faas/fjord/internal/runtime"
)

var fnRef = runtime.Ref{Name: "fn", Namespace: "openfaas-fn"}

// fakeFunctions knows a fixed set of functions; wake runs on WakeUp.
type fakeFunctions struct {
	info  map[runtime.Ref]FunctionInfo
	wake  func(ref runtime.Ref)
	wakes atomic.Int32
}

func (f *fakeFunctions) Lookup(ref runtime.Ref) (FunctionInfo, bool) {
	i, ok := f.info[ref]
	return i, ok
}

func (f *fakeFunctions) WakeUp(ctx context.Context, ref runtime.Ref) error {
	f.wakes.Add(1)
	if f.wake != nil {
		f.wake(ref)
	}
	return nil
}

// harness is a router mounted at /function/{rest...} in an httptest server.
type harness struct {
	fns    *fakeFunctions
	router *Router
	m      *metrics.Metrics
	srv    *httptest.Server
}

func newHarness(t testing.TB, timeout time.Duration) *harness {
	t.Helper()
	h := &harness{fns: &fakeFunctions{info: map[runtime.Ref]FunctionInfo{fnRef: {Timeout: timeout}}}}
	h.m = metrics.New(prometheus.NewRegistry())
	h.router = New(Config{Functions: h.fns, Metrics: h.m, TimeoutMargin: 50 * time.Millisecond})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.EscapedPath(), "/function/")
		name, path, _ := strings.Cut(rest, "/")
		if path != "" || strings.HasSuffix(rest, "/") {
			path = "/" + path
		}
		n, ns, _ := strings.Cut(name, ".")
		h.router.ServeFunction(w, r, runtime.Ref{Name: n, Namespace: ns}, path)
	}))
	t.Cleanup(func() {
		h.srv.Close()
		_ = h.router.Close(context.Background())
	})
	return h
}

// upstream starts a replica and registers it as fn's only endpoint.
func (h *harness) upstream(t testing.TB, fn http.HandlerFunc) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(fn)
	t.Cleanup(up.Close)
	h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: up.Listener.Addr().String()}})
	return up
}

func (h *harness) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func echoHeaders(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{"uri": r.URL.RequestURI(), "method": r.Method, "host": r.Host}
	for k := range r.Header {
		out[k] = strings.Join(r.Header[k], ",")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func TestUnknownFunction(t *testing.T) {
	h := newHarness(t, time.Second)
	resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/nope.openfaas-fn", ""))
	if resp.StatusCode != 404 || body != "error finding function nope.openfaas-fn: not found\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get(HeaderCallID) == "" {
		t.Fatal("404 without X-Call-Id")
	}
	if h.m.Invocations("nope.openfaas-fn") != 0 {
		t.Fatal("unknown function counted")
	}
}

func mustReq(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestForwardPathAndQuery(t *testing.T) {
	h := newHarness(t, time.Second)
	h.upstream(t, echoHeaders)
	tests := []struct{ path, want string }{
		{"/function/fn.openfaas-fn", "/"},
		{"/function/fn.openfaas-fn/", "/"},
		{"/function/fn.openfaas-fn/a/b?x=1&y=%20z", "/a/b?x=1&y=%20z"},
		{"/function/fn.openfaas-fn?q=1", "/?q=1"},
		{"/function/fn.openfaas-fn/a%2Fb", "/a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+tt.path, ""))
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if got["uri"] != tt.want {
				t.Fatalf("upstream saw %q, want %q", got["uri"], tt.want)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	h := newHarness(t, time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
	})
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} {
		t.Run(m, func(t *testing.T) {
			resp, _ := h.do(t, mustReq(t, m, h.srv.URL+"/function/fn.openfaas-fn", ""))
			if resp.StatusCode != 200 || resp.Header.Get("X-Method") != m {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("X-Method"))
			}
		})
	}
}

func newHarnessServer(fn http.HandlerFunc) *httptest.Server { return httptest.NewServer(fn) }
