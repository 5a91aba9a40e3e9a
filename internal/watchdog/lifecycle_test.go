package watchdog

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHealthReadyLifecycle(t *testing.T) {
	h := start(t, "fprocess=cat")
	if !LockExists(h.lock) {
		t.Fatalf("lock %s missing once serving", h.lock)
	}
	steps := []struct {
		name   string
		method string
		path   string
		before func()
		code   int
		body   string
	}{
		{name: "health ok", method: "GET", path: "/_/health", code: 200, body: "OK"},
		{name: "health wrong method", method: "POST", path: "/_/health", code: 405},
		{name: "ready ok", method: "GET", path: "/_/ready", code: 200},
		{name: "lock removed", method: "GET", path: "/_/health", code: 503,
			before: func() { os.Remove(h.lock) }},
		{name: "ready without lock", method: "GET", path: "/_/ready", code: 503},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			res, body := call(t, s.method, h.url+s.path, "")
			if res.StatusCode != s.code || (s.body != "" && body != s.body) {
				t.Errorf("%s %s = %d %q, want %d %q", s.method, s.path, res.StatusCode, body, s.code, s.body)
			}
		})
	}
	if err := h.w.writeLock(); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(t); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if LockExists(h.lock) {
		t.Error("lock still present after shutdown")
	}
}

func TestSuppressLock(t *testing.T) {
	h := start(t, "fprocess=cat", "suppress_lock=true")
	if LockExists(h.lock) {
		t.Error("lock written despite suppress_lock")
	}
	if res, _ := call(t, "GET", h.url+"/_/health", ""); res.StatusCode != 200 {
		t.Errorf("health = %d, want 200", res.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	port := freeTestPort(t)
	h := start(t, "fprocess=cat", "metrics_port="+strconv.Itoa(port))
	call(t, "POST", h.url, "x")
	_, body := call(t, "GET", "http://127.0.0.1:"+strconv.Itoa(port)+"/metrics", "")
	for _, s := range []string{`http_requests_total{code="200",method="POST"} 1`,
		`http_request_duration_seconds_count{code="200",method="POST"} 1`, "http_requests_in_flight 0"} {
		if !strings.Contains(body, s) {
			t.Errorf("metrics lack %q", s)
		}
	}
}

func freeTestPort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProcessFDsAndSIGTERM runs the watchdog as its own process with an
// inherited listener (fd 3) and ready pipe (fd 4), then stops it with SIGTERM.
func TestProcessFDsAndSIGTERM(t *testing.T) {
	tmp := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), roleEnv+"=watchdog", "TMPDIR="+tmp, "fprocess=cat", "metrics_port=0",
		"fjord_listen_fd=3", "fjord_ready_fd=4", "healthcheck_interval=200ms", "port=1")
	cmd.ExtraFiles = []*os.File{lf, readyW}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	defer func() {
		if t.Failed() {
			t.Logf("watchdog stderr:\n%s", stderr.String())
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	lf.Close()
	ln.Close() // the child holds the socket now
	defer cmd.Process.Kill()

	got, err := io.ReadAll(bufio.NewReader(readyR))
	if err != nil || string(got) != "\n" {
		t.Fatalf("ready fd gave %q, %v; want a single newline then EOF", got, err)
	}
	lock := filepath.Join(tmp, ".lock")
	if !LockExists(lock) {
		t.Fatal("lock missing when ready was signalled")
	}
	if _, body := call(t, "POST", "http://"+ln.Addr().String(), "via fd"); body != "via fd" {
		t.Errorf("echo over inherited listener = %q", body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the drain the lock is gone and health is 503, while still serving.
	poll(t, 5*time.Second, func() bool { return !LockExists(lock) })
	if res, _ := call(t, "GET", "http://"+ln.Addr().String()+"/_/health", ""); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("health while draining = %d, want 503", res.StatusCode)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("watchdog exit after SIGTERM: %v", err)
	}
}
