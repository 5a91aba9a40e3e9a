// Package e2e drives the real fjord binary over HTTP and through its CLI.
package e2e

import (
	"bufio"
	"bytes"
	"context"
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
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// daemon is a running `fjord serve` started by a test.
type daemon struct {
	t        *testing.T
	bin      string
	stateDir string
	addr     string
	args     []string
	cmd      *exec.Cmd
	mu       sync.Mutex
	out      bytes.Buffer
	user     string
	password string
	// cred, when set, runs the daemon as another user.
	cred *syscall.Credential
	// extraFiles are inherited by the daemon (fd 3, 4, ...), as from a job runner.
	extraFiles []*os.File
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startDaemon runs fjord serve on a free loopback port with a temp state dir.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, bin: testenv.FjordBinary(t), stateDir: t.TempDir(), addr: freeAddr(t), args: extra}
	d.start()
	t.Cleanup(func() { d.stop(syscall.SIGTERM) })
	return d
}

func (d *daemon) start() {
	t := d.t
	t.Helper()
	args := append([]string{"serve", "--listen", d.addr, "--state-dir", d.stateDir, "--log-level", "debug"}, d.args...)
	d.cmd = exec.Command(d.bin, args...)
	d.cmd.Env = append(os.Environ(), "OPENFAAS_CONFIG="+filepath.Join(d.stateDir, "cli"))
	d.cmd.ExtraFiles = d.extraFiles
	if d.cred != nil {
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: d.cred}
	}
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.out.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
	}()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(d.url("/healthz")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				d.loadCredentials()
				return
			}
		}
		if d.cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fjord serve did not become healthy; output:\n%s", d.output())
}

func (d *daemon) loadCredentials() {
	u, err1 := os.ReadFile(filepath.Join(d.stateDir, "secrets", "basic-auth-user"))
	p, err2 := os.ReadFile(filepath.Join(d.stateDir, "secrets", "basic-auth-password"))
	if err1 == nil && err2 == nil {
		d.user, d.password = strings.TrimSpace(string(u)), strings.TrimSpace(string(p))
	}
}

// stop signals the daemon and waits for it to exit.
func (d *daemon) stop(sig syscall.Signal) {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
		d.t.Errorf("fjord serve did not stop within 40s after %v", sig)
	}
	d.cmd = nil
}

func (d *daemon) restart(sig syscall.Signal) {
	d.stop(sig)
	d.start()
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func (d *daemon) url(path string) string { return "http://" + d.addr + path }

// do sends an authenticated request to the daemon.
func (d *daemon) do(method, path, body string) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.url(path), strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if d.user != "" {
		req.SetBasicAuth(d.user, d.password)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cli runs the fjord CLI against the daemon from dir and returns its combined output.
func (d *daemon) cli(dir string, stdin string, args ...string) (string, error) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OPENFAAS_URL=http://"+d.addr, "OPENFAAS_CONFIG="+filepath.Join(d.stateDir, "cli"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// login stores the admin credentials for the CLI.
func (d *daemon) login(t *testing.T) {
	t.Helper()
	out, err := d.cli(t.TempDir(), d.password, "login", "--gateway", "http://"+d.addr, "-u", d.user, "--password-stdin")
	if err != nil {
		t.Fatalf("fjord login: %v\n%s", err, out)
	}
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

func invoke(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// deployNew creates function name from template lang (`fjord new` in a
// temporary folder), writes code to its file with perm and deploys it
// (`fjord up`). It returns the folder, whose stack file names the function.
func (d *daemon) deployNew(t *testing.T, name, lang, file, code string, perm os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	d.mustCLI(t, dir, "", "new", name, "--lang", lang)
	if err := os.WriteFile(filepath.Join(dir, name, file), []byte(code), perm); err != nil {
		t.Fatal(err)
	}
	d.mustCLI(t, dir, "", "up")
	return dir
}

// procChildren maps every pid to its direct children, from /proc/PID/stat.
func procChildren() map[int][]int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces: the fields after its ')' are "state ppid ...".
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	return children
}

// mustCLI runs the CLI and fails the test when it exits non-zero.
func (d *daemon) mustCLI(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	out, err := d.cli(dir, stdin, args...)
	if err != nil {
		t.Fatalf("fjord %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
