package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/version"
)

func TestRequestHeaders(t *testing.T) {
	h := newHarness(t, time.Second)
	var seen http.Header
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })

	t.Run("generated", func(t *testing.T) {
		req := mustReq(t, "POST", h.srv.URL+"/function/fn.openfaas-fn", "x")
		req.Header.Set("Proxy-Authorization", "secret")
		req.Header.Set("Keep-Alive", "timeout=5")
		req.Header.Set("User-Agent", "")
		resp, _ := h.do(t, req)
		if _, err := uuid.Parse(seen.Get(HeaderCallID)); err != nil {
			t.Fatalf("X-Call-Id %q: %v", seen.Get(HeaderCallID), err)
		}
		if resp.Header.Get(HeaderCallID) != seen.Get(HeaderCallID) {
			t.Fatal("response X-Call-Id differs from the forwarded one")
		}
		st := seen.Get(HeaderStartTime)
		if len(st) < 18 || strings.Trim(st, "0123456789") != "" || resp.Header.Get(HeaderStartTime) != st {
			t.Fatalf("X-Start-Time %q / %q", st, resp.Header.Get(HeaderStartTime))
		}
		for _, k := range []string{"Proxy-Authorization", "Keep-Alive"} {
			if seen.Get(k) != "" {
				t.Fatalf("hop-by-hop %s forwarded", k)
			}
		}
		if seen.Get("X-Forwarded-For") != "127.0.0.1" || seen.Get("X-Forwarded-Host") != strings.TrimPrefix(h.srv.URL, "http://") {
			t.Fatalf("X-Forwarded-* = %q %q", seen.Get("X-Forwarded-For"), seen.Get("X-Forwarded-Host"))
		}
		if seen.Get("User-Agent") != version.UserAgent() {
			t.Fatalf("User-Agent %q", seen.Get("User-Agent"))
		}
		if resp.Header.Get(HeaderServedBy) != version.UserAgent() {
			t.Fatalf("X-Served-By %q", resp.Header.Get(HeaderServedBy))
		}
	})
	t.Run("kept", func(t *testing.T) {
		req := mustReq(t, "POST", h.srv.URL+"/function/fn.openfaas-fn", "x")
		req.Header.Set(HeaderCallID, "abc")
		req.Header.Set("X-Forwarded-For", "10.0.0.1")
		req.Header.Set("X-Forwarded-Host", "example.com")
		req.Header.Set("User-Agent", "curl/8")
		req.Header.Set(HeaderStartTime, "1")
		resp, _ := h.do(t, req)
		if seen.Get(HeaderStartTime) == "1" {
			t.Fatal("caller's X-Start-Time forwarded; the gateway sets its own")
		}
		for k, want := range map[string]string{HeaderCallID: "abc", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Host": "example.com", "User-Agent": "curl/8"} {
			if seen.Get(k) != want {
				t.Fatalf("%s = %q, want %q", k, seen.Get(k), want)
			}
		}
		if resp.Header.Get(HeaderCallID) != "abc" {
			t.Fatalf("response X-Call-Id %q", resp.Header.Get(HeaderCallID))
		}
	})
}

func TestResponseHeaders(t *testing.T) {
	h := newHarness(t, time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		// A nil Content-Type stops net/http from sniffing one.
		w.Header()["Content-Type"] = nil
		if ct := r.URL.Query().Get("ct"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Duration-Seconds", "0.1")
		_, _ = w.Write([]byte("<html>"))
	})
	tests := []struct{ name, query, reqType, want string }{
		{"function's", "?ct=application/json", "text/csv", "application/json"},
		{"request's", "", "text/csv", "text/csv"},
		{"default", "", "", "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustReq(t, "POST", h.srv.URL+"/function/fn.openfaas-fn"+tt.query, "x")
			if tt.reqType != "" {
				req.Header.Set("Content-Type", tt.reqType)
			}
			resp, body := h.do(t, req)
			if got := resp.Header.Get("Content-Type"); got != tt.want || body != "<html>" {
				t.Fatalf("Content-Type %q body %q, want %q", got, body, tt.want)
			}
			if resp.Header.Get("X-Duration-Seconds") != "0.1" {
				t.Fatal("function header lost")
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	h := newHarness(t, time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://example.com/x", http.StatusFound)
	})
	resp, _ := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://example.com/x" {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestServerSentEventsStream(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	release := make(chan struct{})
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: one\n\n"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("data: two\n\n"))
	})
	defer close(release)
	req := mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", "")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	expectFirstLine(t, resp.Body, "data: one\n")
}

// expectFirstLine reads the first line of a streamed body, which must arrive
// within 3 s, before the upstream has finished its response.
func expectFirstLine(t *testing.T, body io.Reader, want string) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(body).ReadString('\n')
		done <- line
	}()
	select {
	case line := <-done:
		if line != want {
			t.Fatalf("first line %q, want %q", line, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("first event not streamed before the upstream finished")
	}
}

func TestWebsocketUpgrade(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Write([]byte("GET /function/fn.openfaas-fn/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	_, _ = conn.Write([]byte("hello\n"))
	if line, _ := br.ReadString('\n'); line != "echo hello\n" {
		t.Fatalf("got %q", line)
	}
}

func TestScaleFromZero(t *testing.T) {
	t.Run("endpoint arrives", func(t *testing.T) {
		h := newHarness(t, 5*time.Second)
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
		h.fns.wake = func(ref runtime.Ref) {
			go func() {
				time.Sleep(50 * time.Millisecond) // a replica starting
				h.router.UpdateEndpoints(ref, []runtime.Endpoint{{ID: "r1", Address: up}})
			}()
		}
		resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
		if resp.StatusCode != 200 || body != "ok" || h.fns.wakes.Load() != 1 {
			t.Fatalf("got %d %q after %d wake-ups", resp.StatusCode, body, h.fns.wakes.Load())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		h := newHarness(t, 100*time.Millisecond)
		resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
		if resp.StatusCode != 503 || body != "No endpoints available for: fn.\n" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
}

func newUpstream(t testing.TB, fn http.HandlerFunc) string {
	t.Helper()
	h := newHarnessServer(fn)
	t.Cleanup(h.Close)
	return h.Listener.Addr().String()
}

func TestLeastInFlight(t *testing.T) {
	h := newHarness(t, 5*time.Second)
	release := make(chan struct{})
	var mu sync.Mutex
	hits := map[string]int{}
	var arrived atomic.Int32
	var eps []runtime.Endpoint
	for _, id := range []string{"a", "b", "c"} {
		eps = append(eps, runtime.Endpoint{ID: id, Address: newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[id]++
			mu.Unlock()
			arrived.Add(1)
			<-release
		})})
	}
	h.router.UpdateEndpoints(fnRef, eps)
	var wg sync.WaitGroup
	for i := int32(1); i <= 6; i++ {
		wg.Go(func() { h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", "")) })
		waitFor(t, func() bool { return arrived.Load() == i })
	}
	close(release)
	wg.Wait()
	for _, id := range []string{"a", "b", "c"} {
		if hits[id] != 2 {
			t.Fatalf("spread %v, want 2 each", hits)
		}
	}
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBadGateway(t *testing.T) {
	t.Run("dead replica", func(t *testing.T) {
		h := newHarness(t, time.Second)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "dead", Address: addr}})
		resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
		if resp.StatusCode != 502 || body != "" || resp.Header.Get(HeaderCallID) == "" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if h.m.Invocations("fn.openfaas-fn") != 1 {
			t.Fatalf("invocations %v", h.m.Invocations("fn.openfaas-fn"))
		}
	})
	t.Run("upstream timeout", func(t *testing.T) {
		h := newHarness(t, 100*time.Millisecond)
		h.upstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		resp, _ := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
		if resp.StatusCode != 502 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

func TestMetricsCounted(t *testing.T) {
	h := newHarness(t, time.Second)
	h.upstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	for range 3 {
		h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn", ""))
	}
	if got := h.m.Invocations("fn.openfaas-fn"); got != 3 {
		t.Fatalf("invocations %v, want 3", got)
	}
}
