package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemon is the `fjord serve` this run started and owns.
type daemon struct {
	bin, stateDir, addr string
	user, password      string
	cmd                 *exec.Cmd
	exited              chan struct{}
	startup             time.Duration // exec to first 200 from /healthz
	client              *http.Client
	mu                  sync.Mutex
	out                 bytes.Buffer
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startDaemon runs fjord serve on a free loopback port and waits until it is healthy.
func startDaemon(ctx context.Context, bin, stateDir string, env, args []string) (*daemon, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &daemon{bin: bin, stateDir: stateDir, addr: "127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Timeout: 2 * time.Minute}}
	d.cmd = exec.Command(bin, append([]string{"serve", "--listen", d.addr, "--state-dir", stateDir}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = &lockedWriter{d: d}, &lockedWriter{d: d}
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd.Env = append(os.Environ(), env...)
	t0 := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fjord serve: %w", err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	for deadline := t0.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		select {
		case <-d.exited:
			return nil, fmt.Errorf("fjord serve exited during start-up:\n%s", d.output())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := http.Get(d.url("/healthz")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d.startup = time.Since(t0)
				return d, d.loadCredentials()
			}
		}
	}
	d.stop()
	return nil, fmt.Errorf("fjord serve not healthy after 60s:\n%s", d.output())
}

type lockedWriter struct{ d *daemon }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if w.d.out.Len() < 1<<20 {
		w.d.out.Write(p)
	}
	return len(p), nil
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func (d *daemon) loadCredentials() error {
	u, err := os.ReadFile(filepath.Join(d.stateDir, "secrets", "basic-auth-user"))
	if err != nil {
		u = []byte("admin")
	}
	p, err := os.ReadFile(filepath.Join(d.stateDir, "secrets", "basic-auth-password"))
	if err != nil {
		return fmt.Errorf("read admin password: %w", err)
	}
	d.user, d.password = strings.TrimSpace(string(u)), strings.TrimSpace(string(p))
	return nil
}

// stop sends SIGTERM to the daemon's PID and waits; SIGKILL after 30 s.
func (d *daemon) stop() {
	if d == nil || d.cmd == nil || d.cmd.Process == nil {
		return
	}
	pid := d.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-d.exited
	}
}

func (d *daemon) url(path string) string { return "http://" + d.addr + path }

// rssKB reads VmRSS of the daemon process from /proc.
func (d *daemon) rssKB() (int, error) { return rssOf(d.cmd.Process.Pid) }

func rssOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("read rss: no VmRSS for pid %d", pid)
}

// api sends an authenticated JSON request and decodes a JSON answer into out (if non-nil).
func (d *daemon) api(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.url(path), rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(d.user, d.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return nil
}

// cli runs the fjord CLI in dir against the daemon, with isolated credentials.
func (d *daemon) cli(ctx context.Context, dir, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENFAAS_URL=http://"+d.addr,
		"OPENFAAS_CONFIG="+filepath.Join(d.stateDir, "bench-cli"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("fjord %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
