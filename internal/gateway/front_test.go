package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// frontGateway is a started gateway with fn served by handler.
func frontGateway(t testing.TB, handler http.HandlerFunc) *testGateway {
	t.Helper()
	g := newTestGateway(t, nil)
	g.seed()
	up := httptest.NewServer(handler)
	t.Cleanup(up.Close)
	g.router.UpdateEndpoints(runtime.Ref{Name: "fn", Namespace: "openfaas-fn"},
		[]runtime.Endpoint{{ID: "r1", Address: up.Listener.Addr().String()}})
	return g
}

// rawConn is a client connection that writes raw bytes and reads responses.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func (g *testGateway) dial(t testing.TB) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) read(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// echo answers "METHOD URI BODY" and a few shapes picked by the path.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/big": // beyond the front's held-back body: sent chunked
		w.Header()["Content-Type"] = nil
		for i := 0; i < 100; i++ {
			_, _ = w.Write([]byte(strings.Repeat("x", 99) + "\n"))
		}
		return
	case "/empty":
		w.WriteHeader(http.StatusNoContent)
		return
	case "/status":
		w.WriteHeader(http.StatusTeapot)
	}
	_, _ = w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(b)))
}

func TestFrontKeepAliveAndPipelining(t *testing.T) {
	g := frontGateway(t, echo)
	rc := g.dial(t)
	// Three requests in one write, one with a body: answered in order on one connection.
	rc.send("GET /function/fn/a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /function/fn/b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /function/fn.openfaas-fn/c HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"GET /a ", "POST /b?q=1 hello", "GET /c "} {
		resp, body := rc.read("GET")
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("got %d %q, want %q", resp.StatusCode, body, want)
		}
		if resp.ContentLength != int64(len(want)) || resp.Header.Get("Date") == "" || resp.Header.Get("X-Call-Id") == "" {
			t.Fatalf("headers %v", resp.Header)
		}
	}
}

func TestFrontHandsOffMidConnection(t *testing.T) {
	g := frontGateway(t, echo)
	rc := g.dial(t)
	rc.send("GET /function/fn/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := rc.read("GET"); body != "GET /1 " {
		t.Fatalf("first call %q", body)
	}
	// The system API on the same connection goes to net/http (and its auth) ...
	rc.send("GET /system/functions HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := rc.read("GET"); resp.StatusCode != 401 {
		t.Fatalf("system call without credentials: %d", resp.StatusCode)
	}
	rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "OK" {
		t.Fatalf("healthz %d %q", resp.StatusCode, body)
	}
	// ... which keeps serving function calls on it.
	rc.send("GET /function/fn/2 HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := rc.read("GET"); body != "GET /2 " {
		t.Fatalf("call after hand-off %q", body)
	}
}

func TestFrontLeavesOddRequestsToNetHTTP(t *testing.T) {
	g := frontGateway(t, echo)
	tests := []struct {
		name, req string
		code      int
		body      string
	}{
		{"chunked body", "POST /function/fn/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, "POST /c hello"},
		{"expect continue", "POST /function/fn/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", 200, "POST /e hi"},
		{"HTTP/1.0", "GET /function/fn/old HTTP/1.0\r\n\r\n", 200, "GET /old "},
		{"length and chunked", "POST /function/fn HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, "POST / "}, // net/http: chunked wins
		{"two lengths", "POST /function/fn HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, ""},
		{"no host", "GET /function/fn HTTP/1.1\r\n\r\n", 400, ""},
		{"bad header name", "GET /function/fn HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400, ""},
		{"bare LF in value", "GET /function/fn HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n", 200, "GET / "},
		{"large body", "POST /function/fn/big-in HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("z", 70000), 200, "POST /big-in " + strings.Repeat("z", 70000)},
		{"trace", "TRACE /function/fn HTTP/1.1\r\nHost: x\r\n\r\n", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := g.dial(t)
			rc.send(tt.req)
			resp, body := rc.read("GET")
			if resp.StatusCode == 100 {
				resp, body = rc.read("GET")
			}
			if resp.StatusCode != tt.code || tt.body != "" && body != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, trunc(body), tt.code, trunc(tt.body))
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestFrontResponseFraming(t *testing.T) {
	g := frontGateway(t, echo)
	rc := g.dial(t)
	rc.send("GET /function/fn/big HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read("GET")
	if resp.StatusCode != 200 || len(body) != 10000 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("big: %d len %d TE %v", resp.StatusCode, len(body), resp.TransferEncoding)
	}
	rc.send("GET /function/fn/empty HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := rc.read("GET"); resp.StatusCode != 204 || body != "" {
		t.Fatalf("empty: %d %q", resp.StatusCode, body)
	}
	rc.send("HEAD /function/fn/h HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := rc.read("HEAD"); resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len("HEAD /h ")) {
		t.Fatalf("head: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	rc.send("GET /function/fn/status HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := rc.read("GET"); resp.StatusCode != http.StatusTeapot || body != "GET /status " {
		t.Fatalf("status: %d %q", resp.StatusCode, body)
	}
	rc.send("GET /function/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"GET /function/fn/after HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := rc.read("GET"); resp.StatusCode != 404 {
		t.Fatalf("unknown function: %d", resp.StatusCode)
	}
	// The unread body of the 404 was skipped, not taken for the next request.
	if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "GET /after " {
		t.Fatalf("after the 404: %d %q", resp.StatusCode, body)
	}
	rc.send("GET /function/fn/bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, body = rc.read("GET")
	if body != "GET /bye " || !resp.Close {
		t.Fatalf("close: %q close=%t", body, resp.Close)
	}
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after Connection: close: %v", err)
	}
}

func TestFrontCallerGoneCancelsLongCall(t *testing.T) {
	entered := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	g := frontGateway(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // net/http notices a closed connection only after the body
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(8 * time.Second):
		}
	})
	rc := g.dial(t)
	rc.send("POST /function/fn HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	<-entered
	time.Sleep(3 * watchAfter) // past the point where the front watches the caller
	rc.c.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the function's call was not cancelled when the caller went away")
	}
}

func TestFrontShutdownFinishesCallsInFlight(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	g := frontGateway(t, func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	busy := g.dial(t)
	idle := g.dial(t)
	idle.send("GET /function/fn HTTP/1.1\r\nHost: x\r\n\r\n")
	go func() { time.Sleep(50 * time.Millisecond); release <- struct{}{} }()
	if _, body := idle.read("GET"); body != "done" {
		t.Fatalf("warm-up call %q", body)
	}
	busy.send("GET /function/fn HTTP/1.1\r\nHost: x\r\n\r\n")
	for started.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed <- g.gw.Close(ctx)
	}()
	// The idle connection is closed at once; the busy one gets its answer.
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	close(release)
	if resp, body := busy.read("GET"); resp.StatusCode != 200 || body != "done" {
		t.Fatalf("call in flight during shutdown: %d %q", resp.StatusCode, body)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://")); err == nil {
		t.Fatal("still accepting after close")
	}
}

func TestNoFrontServesCalls(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.NoFront = true })
	g.seed()
	up := httptest.NewServer(http.HandlerFunc(echo))
	defer up.Close()
	g.router.UpdateEndpoints(runtime.Ref{Name: "fn", Namespace: "openfaas-fn"},
		[]runtime.Endpoint{{ID: "r1", Address: up.Listener.Addr().String()}})
	for i := 0; i < 3; i++ {
		resp, body := g.call("POST", "/function/fn/n"+strconv.Itoa(i), "b", true)
		if resp.StatusCode != 200 || body != "POST /n"+strconv.Itoa(i)+" b" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
}

// TestRequestURLMatchesParseRequestURI: the URL the front builds itself is
// exactly what url.ParseRequestURI gives, and it builds one only for targets
// url.ParseRequestURI accepts.
func TestRequestURLMatchesParseRequestURI(t *testing.T) {
	paths := []string{
		"/function/fn", "/function/fn/", "/function/fn.ns/a/b", "/function/fn//x", "/function/fn/a;b=c",
		"/function/fn/$&+,:;=@", "/function/fn/-_.~", "/function/fn/a%20b", "/function/fn/%2F",
		"/function/fn/a!b", "/function/fn/(x)", "/function/fn/*", "/function/fn/'q'", "/function/fn/a\"b",
		"/function/fn/<a>", "/function/fn/{x}", "/function/fn/a|b", "/function/fn/a^b", "/function/fn/a`b",
		"/function/fn/a\\b", "/function/fn/[x]", "/function/fn/%zz", "/function/fn/%", "/function/fn/a b",
		"/function/fn/é", "/function/fn/a#b", "/function/fn/./../x",
	}
	queries := []string{"", "?", "?a=b", "?a=b&c=d", "??", "?a?b", "?a=%20", "?a=b;c", "?%zz", "?a b", "?#", "?a=é"}
	built := 0
	for _, p := range paths {
		for _, q := range queries {
			target := p + q
			var u url.URL
			ok := requestURL(&u, target)
			want, err := url.ParseRequestURI(target)
			if !ok {
				continue
			}
			built++
			if err != nil {
				t.Errorf("%q: built a URL, url.ParseRequestURI fails: %v", target, err)
				continue
			}
			if !reflect.DeepEqual(&u, want) {
				t.Errorf("%q: %#v, want %#v", target, u, *want)
			}
			if u.EscapedPath() != want.EscapedPath() || u.RawQuery != want.RawQuery ||
				u.ForceQuery != want.ForceQuery || u.RequestURI() != want.RequestURI() || u.String() != want.String() {
				t.Errorf("%q: %q %q %v, want %q %q %v", target, u.EscapedPath(), u.RawQuery, u.ForceQuery,
					want.EscapedPath(), want.RawQuery, want.ForceQuery)
			}
		}
	}
	if built < len(queries)*6 {
		t.Fatalf("only %d targets built by the front", built)
	}
}

// TestParseHeadValues: repeated fields keep their order, and the values of
// different fields share no storage a handler could overwrite.
func TestParseHeadValues(t *testing.T) {
	raw := "POST /function/fn?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-b: 2\r\nX-A:  3 \r\nContent-Length: 4\r\nConnection: keep-alive, foo\r\n\r\n"
	var h reqHead
	if err := parseHead([]byte(raw), &h); err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Host": {"h"}, "X-A": {"1", "3"}, "X-B": {"2"}, "Content-Length": {"4"}, "Connection": {"keep-alive, foo"}}
	if !reflect.DeepEqual(h.header, want) || h.host != "h" || h.contentLength != 4 || h.close || h.size != len(raw) {
		t.Fatalf("%+v", h)
	}
	h.header["Host"] = append(h.header["Host"], "other")
	h.header.Add("X-B", "more")
	if h.header.Get("X-A") != "1" || h.header["Content-Length"][0] != "4" || len(h.header["X-B"]) != 2 {
		t.Fatalf("values share storage: %v", h.header)
	}
}

// TestCallCtx: the call context behaves as a cancelable context: Done, Err,
// AfterFunc and stop, derived contexts, and a cancel before Done is asked.
func TestCallCtx(t *testing.T) {
	c := &callCtx{parent: context.WithValue(context.Background(), ctxKey{}, "v")}
	if c.Err() != nil || c.Value(ctxKey{}) != "v" {
		t.Fatal("fresh context done or without its parent's values")
	}
	done := c.Done()
	derived, cancelDerived := context.WithCancel(c)
	defer cancelDerived()
	ran := make(chan struct{}, 3)
	stop1 := c.AfterFunc(func() { ran <- struct{}{} })
	stop2 := c.AfterFunc(func() { t.Error("stopped function ran") })
	stop3 := context.AfterFunc(c, func() { ran <- struct{}{} })
	if !stop2() || stop2() {
		t.Fatal("stop: true once, then false")
	}
	select {
	case <-done:
		t.Fatal("done before cancel")
	default:
	}
	c.cancel(context.Canceled)
	<-done
	<-derived.Done()
	<-ran
	<-ran
	if c.Err() != context.Canceled || derived.Err() != context.Canceled || context.Cause(c) != context.Canceled {
		t.Fatalf("Err %v, derived %v", c.Err(), derived.Err())
	}
	if stop1() || stop3() {
		t.Fatal("stop after the function ran reported true")
	}
	c.AfterFunc(func() { ran <- struct{}{} })
	<-ran // runs at once on a done context

	c2 := &callCtx{parent: context.Background()}
	c2.cancel(context.Canceled)
	select {
	case <-c2.Done():
	default:
		t.Fatal("Done after cancel not closed")
	}
}

type ctxKey struct{}

func TestFrontHeadTimeout(t *testing.T) {
	g := newTestGateway(t, func(c *Config) { c.HeaderTimeout = 200 * time.Millisecond })
	rc := g.dial(t)
	rc.send("GET /function/fn HTTP/1.1\r\nHost: x\r\n") // never finished
	start := time.Now()
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Fatalf("a head never finished: %v, want the connection closed", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("closed after %s, want about the 200 ms header timeout", waited)
	}
	// An idle connection (no head begun) is not cut by the header timeout.
	idle := g.dial(t)
	time.Sleep(400 * time.Millisecond)
	idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := idle.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("idle connection then a call: %d", resp.StatusCode)
	}
}
