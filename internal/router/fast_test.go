package router

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// connCounter counts the connections a replica accepted and those it saw closed.
type connCounter struct {
	opened, closed atomic.Int32
}

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

// countedUpstream is h.upstream with a connection counter.
func (h *harness) countedUpstream(t testing.TB, fn http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	up := httptest.NewUnstartedServer(fn)
	up.Config.ConnState = cc.hook
	up.Start()
	t.Cleanup(up.Close)
	h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: up.Listener.Addr().String()}})
	return up, cc
}

func TestFastPathReusesOneConnection(t *testing.T) {
	h := newHarness(t, time.Second)
	_, cc := h.countedUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte(r.Method+" "), b...))
	})
	for i := 0; i < 20; i++ {
		method := []string{"GET", "POST", "PUT", "DELETE"}[i%4]
		resp, body := h.do(t, mustReq(t, method, h.srv.URL+"/function/fn.openfaas-fn", "n"+strconv.Itoa(i)))
		want := method + " n" + strconv.Itoa(i)
		if method == "GET" || method == "DELETE" {
			want = method + " " + "n" + strconv.Itoa(i) // bodies of any method are forwarded
		}
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("call %d: %d %q, want %q", i, resp.StatusCode, body, want)
		}
	}
	if n := cc.opened.Load(); n != 1 {
		t.Fatalf("20 sequential calls opened %d connections to the replica, want 1", n)
	}
}

func TestFastPathReplicaClosedIdleConnection(t *testing.T) {
	// Every reuse is checked here, as after a second of idleness.
	defer func(d time.Duration) { checkAfter = d }(checkAfter)
	checkAfter = 0
	h := newHarness(t, time.Second)
	up, cc := h.countedUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			if _, body := h.do(t, mustReq(t, method, h.srv.URL+"/function/fn.openfaas-fn", "one")); body != "one" {
				t.Fatalf("first call %q", body)
			}
			closedBefore := cc.closed.Load()
			// The replica drops its idle keep-alive connections (as on an idle timeout).
			up.CloseClientConnections()
			waitFor(t, func() bool { return cc.closed.Load() > closedBefore })
			resp, body := h.do(t, mustReq(t, method, h.srv.URL+"/function/fn.openfaas-fn", "two"))
			if resp.StatusCode != 200 || body != "two" {
				t.Fatalf("call after the replica closed the idle connection: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestFastPathEndpointRemovalClosesIdleConnections(t *testing.T) {
	h := newHarness(t, time.Second)
	_, cc := h.countedUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	if _, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", "")); body != "ok" {
		t.Fatalf("got %q", body)
	}
	h.router.UpdateEndpoints(fnRef, nil)
	waitFor(t, func() bool { return cc.closed.Load() == cc.opened.Load() })
}

func TestBodiesBothPaths(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sum := sha256.Sum256(b)
		w.Header().Set("X-Len", strconv.Itoa(len(b)))
		w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
		_, _ = w.Write([]byte(hex.EncodeToString(sum[:])))
	})
	big := strings.Repeat("0123456789abcdef", 20000) // 320 KB: beyond the fast path's buffer
	tests := []struct {
		name    string
		body    string
		chunked bool
	}{
		{"empty", "", false},
		{"small", "hello", false},
		{"at the fast limit", big[:maxFastBody], false},
		{"large", big, false},
		{"chunked", big[:1000], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			req, err := http.NewRequest("POST", h.srv.URL+"/function/fn.openfaas-fn", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, got := h.do(t, req)
			sum := sha256.Sum256([]byte(tt.body))
			if resp.StatusCode != 200 || got != hex.EncodeToString(sum[:]) || resp.Header.Get("X-Len") != strconv.Itoa(len(tt.body)) {
				t.Fatalf("%d len %s sum %s", resp.StatusCode, resp.Header.Get("X-Len"), got)
			}
		})
	}
}

func TestFastPathResponseShapes(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			_, _ = w.Write([]byte("final"))
		case "/close-delimited":
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = brw.WriteString("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
			_ = brw.Flush()
			conn.Close()
		case "/chunked":
			_, _ = w.Write([]byte("part1 "))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("part2"))
		case "/hop":
			w.Header().Set("Connection", "X-Private")
			w.Header().Set("X-Private", "secret")
			w.Header().Set("Keep-Alive", "timeout=5")
			_, _ = w.Write([]byte("hop"))
		case "/head":
			w.Header().Set("Content-Length", "42")
		}
	})
	tests := []struct{ method, path, want string }{
		{"GET", "/hints", "final"},
		{"GET", "/close-delimited", "until close"},
		{"GET", "/chunked", "part1 part2"},
		{"GET", "/hop", "hop"},
		{"HEAD", "/head", ""},
		{"GET", "/hints", "final"}, // the connection is still good after all of them
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp, body := h.do(t, mustReq(t, tt.method, h.srv.URL+"/function/fn.openfaas-fn"+tt.path, ""))
			if resp.StatusCode != 200 || body != tt.want {
				t.Fatalf("%d %q, want %q", resp.StatusCode, body, tt.want)
			}
			if resp.Header.Get("X-Private") != "" || resp.Header.Get("Keep-Alive") != "" {
				t.Fatalf("hop-by-hop headers forwarded: %v", resp.Header)
			}
			if tt.method == "HEAD" && resp.ContentLength != 42 {
				t.Fatalf("HEAD Content-Length %d", resp.ContentLength)
			}
		})
	}
}

func TestFastPathConnectionListedRequestHeaders(t *testing.T) {
	h := newHarness(t, time.Second)
	var seen http.Header
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })
	req := mustReq(t, "POST", h.srv.URL+"/function/fn.openfaas-fn", "x")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "1")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	if resp, _ := h.do(t, req); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if seen.Get("X-Hop") != "" || seen.Get("X-Forwarded-Proto") != "" {
		t.Fatalf("forwarded a hop-by-hop or the caller's X-Forwarded-Proto: %v", seen)
	}
	if got := seen.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("X-Multi %q", got)
	}
}

func TestFastPathCallerGoneCancelsCall(t *testing.T) {
	h := newHarness(t, 10*time.Second)
	entered := make(chan struct{})
	var once sync.Once
	cancelled := make(chan struct{})
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(8 * time.Second):
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/function/fn.openfaas-fn", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-entered
	cancel()
	<-errc
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the replica's call was not cancelled when the caller went away")
	}
}

func TestFastPathPathEscaping(t *testing.T) {
	h := newHarness(t, time.Second)
	var uri string
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) { uri = r.RequestURI })
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for _, tt := range []struct{ sent, want string }{
		{"/function/fn.openfaas-fn/a%2Fb?x=1", "/a%2Fb?x=1"},
		{"/function/fn.openfaas-fn/caf%C3%A9/ok", "/caf%C3%A9/ok"},
		{"/function/fn.openfaas-fn/sp%20ace?", "/sp%20ace?"},
		{"/function/fn.openfaas-fn", "/"},
	} {
		_, _ = conn.Write([]byte("GET " + tt.sent + " HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || uri != tt.want {
			t.Fatalf("sent %s: %d, replica saw %q, want %q", tt.sent, resp.StatusCode, uri, tt.want)
		}
	}
}
