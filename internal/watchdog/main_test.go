package watchdog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// roleEnv makes the test binary act as a helper process instead of running tests.
const roleEnv = "FJORD_WD_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "upstream":
		os.Exit(runUpstream())
	case "watchdog":
		os.Exit(runWatchdogProcess())
	}
	os.Exit(m.Run())
}

// runWatchdogProcess is `fjord watchdog` in miniature, for signal and fd tests.
func runWatchdogProcess() int {
	cfg, err := ConfigFromEnv(os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w, err := New(cfg, slog.Default())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := w.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runUpstream is a small function server for http mode, listening on $PORT.
func runUpstream() int {
	mux := http.NewServeMux()
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: two\n\n")
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "slept")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	mux.HandleFunc("/port", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv("PORT")) })
	mux.HandleFunc("/fds", func(w http.ResponseWriter, r *http.Request) {
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			link, _ := os.Readlink("/proc/self/fd/" + e.Name())
			fmt.Fprintln(w, e.Name(), link)
		}
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	mux.HandleFunc("/ws", upstreamWebsocket)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got-Host", r.Host)
		w.Header().Set("X-Got-Uri", r.RequestURI)
		w.Header().Set("X-Got-Xff", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Got-Length", fmt.Sprint(r.ContentLength))
		w.Write(body)
	})
	if d, err := time.ParseDuration(os.Getenv("FJORD_WD_TEST_EXIT_AFTER")); err == nil {
		time.AfterFunc(d, func() { os.Exit(3) })
	}
	var conns atomic.Int64
	mux.HandleFunc("/conns", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, conns.Load()) })
	mux.HandleFunc("/socket", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(SocketEnv)) })
	srv := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	mux.HandleFunc("/socketfd", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(SocketFDEnv)) })
	if d, err := time.ParseDuration(os.Getenv("FJORD_WD_TEST_LISTEN_DELAY")); err == nil {
		time.Sleep(d) // a server slow to start
	}
	network, addr := "tcp", "127.0.0.1:"+os.Getenv("PORT")
	if sock := os.Getenv(SocketEnv); sock != "" {
		network, addr = "unix", sock
	}
	var (
		ln  net.Listener
		err error
	)
	if fd := os.Getenv(SocketFDEnv); fd != "" {
		var n int
		if _, err = fmt.Sscan(fd, &n); err == nil {
			ln, err = net.FileListener(os.NewFile(uintptr(n), "inherited"))
		}
	} else {
		ln, err = net.Listen(network, addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("upstream starting")
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// upstreamWebsocket answers an Upgrade with 101 and echoes bytes back.
func upstreamWebsocket(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	brw.Flush()
	io.Copy(conn, brw)
}

// syncBuffer collects the watchdog's output safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is one in-process watchdog under test.
type harness struct {
	w      *Watchdog
	url    string
	lock   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start runs a watchdog configured by env (on top of the test's environment)
// and waits until it is ready, or until Run fails when wantReady is false.
func start(t testing.TB, env ...string) *harness {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	environ := append(os.Environ(), "metrics_port=0", "healthcheck_interval=1ms")
	cfg, err := ConfigFromEnv(append(environ, env...))
	if err != nil {
		t.Fatalf("ConfigFromEnv: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{url: "http://" + ln.Addr().String(), lock: cfg.LockPath, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cfg.Listener, cfg.Stdout, cfg.Stderr = ln, h.stderr, h.stderr
	cfg.MaxProcs = 0 // embedded: leave the test binary's GOMAXPROCS alone
	if h.w, err = New(cfg, slog.New(slog.NewTextHandler(h.stderr, nil))); err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.w.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })
	poll(t, 10*time.Second, func() bool { return h.w.healthy() || len(h.done) > 0 })
	return h
}

// stop cancels Run once and returns its error.
func (h *harness) stop(t testing.TB) error {
	t.Helper()
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	return nil
}

// poll calls cond until it is true or the deadline passes.
func poll(t testing.TB, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call sends one request and returns the response with its body read.
func call(t testing.TB, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, string(b)
}
