package watchdog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startHTTP runs an http-mode watchdog in front of the test binary acting as upstream.
func startHTTP(t testing.TB, env ...string) *harness {
	t.Helper()
	port := freeTestPort(t)
	base := []string{"mode=http", "fprocess=" + os.Args[0], roleEnv + "=upstream", "PORT=" + strconv.Itoa(port),
		"upstream_url=http://127.0.0.1:" + strconv.Itoa(port)}
	return start(t, append(base, env...)...)
}

func TestHTTPMode(t *testing.T) {
	h := startHTTP(t, "exec_timeout=500ms", "ready_path=/ready")
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		hdr    []string
		code   int
		want   string
		header map[string]string
	}{
		{name: "echo keeps host and uri", method: "POST", path: "/a/b?x=1&y=%20", body: "payload", code: 200, want: "payload",
			hdr:    []string{"X-Forwarded-For", "10.0.0.1"},
			header: map[string]string{"X-Got-Uri": "/a/b?x=1&y=%20", "X-Got-Host": strings.TrimPrefix(h.url, "http://"), "X-Got-Xff": "10.0.0.1"}},
		{name: "redirect not followed", method: "GET", path: "/redirect", code: 302,
			header: map[string]string{"Location": "/elsewhere"}},
		{name: "exec timeout", method: "GET", path: "/sleep?d=10s", code: 504,
			header: map[string]string{"X-OpenFaaS-Internal": "of-watchdog"}},
		{name: "X-Timeout shortens", method: "GET", path: "/sleep?d=10s", hdr: []string{"X-Timeout", "50ms"}, code: 504},
		{name: "X-Timeout cannot extend", method: "GET", path: "/sleep?d=10s", hdr: []string{"X-Timeout", "1h"}, code: 504},
		{name: "fast within X-Timeout", method: "GET", path: "/sleep?d=1ms", hdr: []string{"X-Timeout", "5s"}, code: 200, want: "slept"},
		{name: "upstream error", method: "GET", path: "/crash", code: 500},
		{name: "ready forwarded", method: "GET", path: "/_/ready", code: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := call(t, tt.method, h.url+tt.path, tt.body, tt.hdr...)
			if res.StatusCode != tt.code {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tt.code, body)
			}
			if tt.want != "" && body != tt.want {
				t.Errorf("body = %q, want %q", body, tt.want)
			}
			for k, v := range tt.header {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.path != "/_/ready" && res.Header.Get("X-Duration-Seconds") == "" {
				t.Error("missing X-Duration-Seconds")
			}
		})
	}
}

func TestHTTPModeStreaming(t *testing.T) {
	h := startHTTP(t, "buffer_http=true")
	t.Run("sse unbuffered", func(t *testing.T) {
		res, err := http.Get(h.url + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(res.Body).ReadString('\n')
			got <- line
		}()
		select {
		case line := <-got:
			if line != "data: one\n" {
				t.Errorf("first line = %q", line)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("first event not delivered before the stream ended: proxy buffers")
		}
	})
	t.Run("websocket upgrade", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: fn\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade response = %v, %v", res, err)
		}
		fmt.Fprint(conn, "ping")
		buf := make([]byte, 4)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
			t.Errorf("echo over upgraded conn = %q, %v", buf, err)
		}
	})
	t.Run("buffered body has a length", func(t *testing.T) {
		req, _ := http.NewRequest("POST", h.url+"/", io.MultiReader(strings.NewReader("chunk")))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("X-Got-Length"); got != "5" {
			t.Errorf("upstream saw Content-Length %s, want 5", got)
		}
	})
}

func TestHTTPModeKeepAlive(t *testing.T) {
	h := startHTTP(t)
	for i := 0; i < 100; i++ {
		if res, body := call(t, "POST", h.url+"/echo", "ping"); res.StatusCode != 200 || body != "ping" {
			t.Fatalf("call %d = %d %q", i, res.StatusCode, body)
		}
	}
	// Serial calls need one upstream connection (plus the readiness probe's).
	if _, n := call(t, "GET", h.url+"/conns", ""); n != "1" && n != "2" && n != "3" {
		t.Errorf("upstream saw %s connections for 100 serial calls", n)
	}
}

func TestHTTPModeLogs(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{name: "prefixed", want: []string{" stdout: upstream starting\n", "GET /echo?a=1 - 200 OK - ContentLength: 0B ("}},
		{name: "raw with call id", env: []string{"prefix_logs=false", "log_callid=true"},
			want: []string{"\nupstream starting\n", "s) [call-7]\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHTTP(t, tt.env...)
			call(t, "GET", h.url+"/echo?a=1", "", "X-Call-Id", "call-7")
			// The request line is logged after the response is sent.
			poll(t, 5*time.Second, func() bool {
				for _, s := range tt.want {
					if !strings.Contains(h.stderr.String(), s) {
						return false
					}
				}
				return true
			})
		})
	}
}

func TestHTTPModeAutoUpstream(t *testing.T) {
	// upstream_url names a port nobody listens on; auto_upstream must ignore it.
	h := start(t, "mode=http", "fprocess="+os.Args[0], roleEnv+"=upstream", "fjord_auto_upstream=1",
		"upstream_url=http://127.0.0.1:1")
	res, body := call(t, "GET", h.url+"/port", "")
	if res.StatusCode != 200 || body == "" || body == "1" {
		t.Fatalf("GET /port = %d %q, want the chosen PORT", res.StatusCode, body)
	}
	if h.w.proxy.target.Port() != body {
		t.Errorf("proxy target %s, child PORT %s", h.w.proxy.target, body)
	}
}

func TestHTTPModeUpstreamSocket(t *testing.T) {
	// A template that sets fjord_upstream_socket gets an abstract Unix socket
	// in FJORD_SOCKET instead of a PORT; calls through the watchdog reach it,
	// and the ready message offers it for direct calls.
	h := start(t, "mode=http", "fprocess="+os.Args[0], roleEnv+"=upstream", "fjord_auto_upstream=1",
		"fjord_upstream_socket=true", "upstream_url=http://127.0.0.1:1")
	res, sock := call(t, "GET", h.url+"/socket", "")
	if res.StatusCode != 200 || !strings.HasPrefix(sock, "@fjord-fn-") {
		t.Fatalf("GET /socket = %d %q, want an abstract @fjord-fn-… name", res.StatusCode, sock)
	}
	if _, port := call(t, "GET", h.url+"/port", ""); port != "" {
		t.Errorf("child PORT = %q, want none next to FJORD_SOCKET", port)
	}
	if got := h.w.directUpstream(); got != "unix:"+sock {
		t.Errorf("directUpstream = %q, want %q", got, "unix:"+sock)
	}
	res, body := call(t, "POST", h.url+"/a?b=1", "over the socket")
	if res.StatusCode != 200 || body != "over the socket" || res.Header.Get("X-Got-Uri") != "/a?b=1" {
		t.Errorf("POST through the watchdog = %d %q (uri %q)", res.StatusCode, body, res.Header.Get("X-Got-Uri"))
	}
	// The function's own server answers on the socket itself.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /port HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("direct call on the socket: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestHTTPModeUpstreamInherit(t *testing.T) {
	// fjord_upstream_socket=inherit: the watchdog listens on the abstract
	// socket itself and hands it over as fd 3, so it is ready before the
	// server is, and a call made meanwhile waits on the socket, not fails.
	const delay = 400 * time.Millisecond
	t0 := time.Now()
	h := startInherit(t, "FJORD_WD_TEST_LISTEN_DELAY="+delay.String())
	if took := time.Since(t0); took >= delay {
		t.Errorf("watchdog ready after %s, want before the server listens (%s)", took, delay)
	}
	addr := h.w.directUpstream()
	sock, ok := strings.CutPrefix(addr, "unix:")
	if !ok || !strings.HasPrefix(sock, "@fjord-fn-") {
		t.Fatalf("directUpstream = %q, want unix:@fjord-fn-…", addr)
	}
	// The watchdog keeps no copy of the listening socket: were the server
	// to die, its socket would close and waiting calls fail at once.
	if fds := socketFDs(t, sock); len(fds) > 0 {
		t.Errorf("watchdog holds the server's socket %s as fds %v", sock, fds)
	}
	// Straight to the socket, before the server has started listening.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial %s while the server starts: %v", sock, err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /socketfd HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("call queued on the socket: %v", err)
	}
	fd, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(fd) != "3" {
		t.Errorf("GET /socketfd = %d %q, want 200 \"3\"", resp.StatusCode, fd)
	}
	if time.Since(t0) < delay {
		t.Errorf("answered after %s, before the server listened (%s)", time.Since(t0), delay)
	}
	if _, s := call(t, "GET", h.url+"/socket", ""); s != "" {
		t.Errorf("child FJORD_SOCKET = %q, want none next to FJORD_SOCKET_FD", s)
	}
	res, body := call(t, "POST", h.url+"/a", "through the watchdog")
	if res.StatusCode != 200 || body != "through the watchdog" {
		t.Errorf("POST through the watchdog = %d %q", res.StatusCode, body)
	}
}

// TestHTTPModeUpstreamInheritServerDies: a server that dies before it ever
// accepts takes the only copy of the socket with it, so a call waiting on
// the socket fails at once instead of hanging, and Run reports the exit.
func TestHTTPModeUpstreamInheritServerDies(t *testing.T) {
	h := startInherit(t, "FJORD_WD_TEST_LISTEN_DELAY=1m", "FJORD_WD_TEST_EXIT_AFTER=300ms")
	sock, _ := strings.CutPrefix(h.w.directUpstream(), "unix:")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial %s while the server starts: %v", sock, err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	t0 := time.Now()
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("call waiting on the dead server's socket: %v, want it cut off", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("the waiting call failed only after %s", d)
	}
	waitFunctionExit(t, h)
}

// waitFunctionExit waits for Run to end with the function process's exit.
func waitFunctionExit(t *testing.T, h *harness) {
	t.Helper()
	select {
	case err := <-h.done:
		h.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "function process exited") {
			t.Errorf("Run = %v, want a function-exit error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog kept running after the function process exited")
	}
}

// startInherit starts an http-mode watchdog in front of the test's upstream
// with fjord_upstream_socket=inherit, plus env.
func startInherit(t *testing.T, env ...string) *harness {
	t.Helper()
	return start(t, append([]string{"mode=http", "fprocess=" + os.Args[0], roleEnv + "=upstream", "fjord_auto_upstream=1",
		"fjord_upstream_socket=inherit", "upstream_url=http://127.0.0.1:1"}, env...)...)
}

// socketFDs lists this process's fds open on the listening Unix socket name.
func socketFDs(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Skipf("no /proc/net/unix: %v", err)
	}
	inode := ""
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && f[7] == name && f[5] == "01" { // 01: listening
			inode = f[6]
		}
	}
	if inode == "" {
		t.Fatalf("no listening socket %s in /proc/net/unix", name)
	}
	var fds []string
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); link == "socket:["+inode+"]" {
			fds = append(fds, e.Name())
		}
	}
	return fds
}

func TestHTTPModeChildExit(t *testing.T) {
	h := startHTTP(t, "FJORD_WD_TEST_EXIT_AFTER=300ms")
	waitFunctionExit(t, h)
	if LockExists(h.lock) {
		t.Error("lock left behind")
	}
}

func TestOtherModes(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		code int
		want string
	}{
		{name: "streaming echo", env: []string{"mode=streaming", "fprocess=cat"}, code: 200, want: "stream-me"},
		{name: "serializing echo", env: []string{"mode=serializing", "fprocess=cat"}, code: 200, want: "stream-me"},
		{name: "serializing failure", env: []string{"mode=serializing", "fprocess=false"}, code: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.env...)
			res, body := call(t, "POST", h.url, "stream-me")
			if res.StatusCode != tt.code || (tt.want != "" && body != tt.want) {
				t.Errorf("= %d %q, want %d %q", res.StatusCode, body, tt.code, tt.want)
			}
			if tt.code == 200 && res.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("Content-Type = %q", res.Header.Get("Content-Type"))
			}
		})
	}
}

func TestStaticMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/index.txt", []byte("static body"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := start(t, "mode=static", "static_path="+dir)
	if res, body := call(t, "GET", h.url+"/index.txt", ""); res.StatusCode != 200 || body != "static body" {
		t.Errorf("GET /index.txt = %d %q", res.StatusCode, body)
	}
	if res, _ := call(t, "GET", h.url+"/missing", ""); res.StatusCode != 404 {
		t.Errorf("GET /missing = %d, want 404", res.StatusCode)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantErr bool
		check   func(Config) error
	}{
		{name: "classic defaults", env: []string{"fprocess=cat"}, check: func(c Config) error {
			if c.Mode != ModeClassic || c.ExecTimeout != 0 || c.Port != 8080 || c.MetricsPort != 8081 ||
				c.HealthcheckInterval != 30*time.Second || !c.CombineOutput || !c.CGIHeaders {
				return errors.New("unexpected classic defaults")
			}
			return nil
		}},
		{name: "http defaults and aliases", env: []string{"mode=http", "function_process=srv", "http_upstream_url=http://127.0.0.1:5000",
			"write_timeout=10", "buffer_http=true"}, check: func(c Config) error {
			if c.ExecTimeout != 30*time.Second || c.WriteTimeout != 10*time.Second || c.HealthcheckInterval != 10*time.Second ||
				c.Process != "srv" || !c.BufferBody || c.UpstreamURL != "http://127.0.0.1:5000" {
				return fmt.Errorf("got %+v", c)
			}
			return nil
		}},
		{name: "go durations", env: []string{"fprocess=cat", "exec_timeout=1m30s", "read_timeout=5"}, check: func(c Config) error {
			if c.ExecTimeout != 90*time.Second || c.ReadTimeout != 5*time.Second {
				return fmt.Errorf("got exec %s read %s", c.ExecTimeout, c.ReadTimeout)
			}
			return nil
		}},
		{name: "one P unless GOMAXPROCS is set", env: []string{"fprocess=cat"}, check: func(c Config) error {
			if c.MaxProcs != 1 {
				return fmt.Errorf("MaxProcs = %d, want 1", c.MaxProcs)
			}
			return nil
		}},
		{name: "GOMAXPROCS wins", env: []string{"fprocess=cat", "GOMAXPROCS=4"}, check: func(c Config) error {
			if c.MaxProcs != 0 {
				return fmt.Errorf("MaxProcs = %d, want 0", c.MaxProcs)
			}
			return nil
		}},
		{name: "unknown mode", env: []string{"fprocess=cat", "mode=afterburn"}, wantErr: true},
		{name: "static needs no fprocess", env: []string{"mode=static"}},
		{name: "missing fprocess", env: []string{}, wantErr: true},
		{name: "http without upstream", env: []string{"mode=http", "fprocess=srv"}, wantErr: true},
		{name: "bad duration", env: []string{"fprocess=cat", "write_timeout=soon"}, wantErr: true},
		{name: "zero write timeout", env: []string{"fprocess=cat", "write_timeout=0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(tt.env)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				if err := tt.check(c); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
