package process

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// started starts rt, closes it at the end and records pushed endpoints.
func started(t *testing.T, rt *Runtime) *epLog {
	t.Helper()
	eps := &epLog{sets: map[runtime.Ref][]runtime.Endpoint{}}
	rt.Subscribe(eps.update)
	if err := rt.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rt.Close(ctx)
	})
	return eps
}

type epLog struct {
	mu   sync.Mutex
	sets map[runtime.Ref][]runtime.Endpoint
}

func (e *epLog) update(ref runtime.Ref, eps []runtime.Endpoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sets[ref] = eps
}

// wait polls until ref has n endpoints.
func (e *epLog) wait(t *testing.T, ref runtime.Ref, n int) []runtime.Endpoint {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		eps := e.sets[ref]
		e.mu.Unlock()
		if len(eps) == n {
			return eps
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has endpoints %v, want %d", ref, eps, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func echoSpec(name string, rev uint64, replicas int) runtime.FunctionSpec {
	return runtime.FunctionSpec{
		Ref:   runtime.Ref{Name: name, Namespace: "openfaas-fn"},
		Image: "echo:latest", Env: map[string]string{"fprocess": "cat"},
		Replicas: replicas, Revision: rev,
	}
}

// testClient reaches replicas on either kind of address (see internal/sockaddr).
var testClient = &http.Client{Transport: &http.Transport{DialContext: (&sockaddr.Dialer{}).DialContext}}

func post(t *testing.T, ep runtime.Endpoint, body string) string {
	t.Helper()
	resp, err := testClient.Post("http://"+sockaddr.URLHost(ep.Address)+"/", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("call %s: %v", ep.ID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestImageError(t *testing.T) {
	rt, imgs := newTestRuntime(t, []string{bins.fake})
	started(t, rt)
	imgs.fail["echo:latest"] = errors.New("manifest unknown")
	spec := echoSpec("broken", 1, 2)
	err := rt.Apply(t.Context(), spec)
	if !errors.Is(err, runtime.ErrImage) {
		t.Fatalf("Apply err = %v, want ErrImage", err)
	}
	st, err := rt.Status(t.Context(), spec.Ref)
	if err != nil || st.Desired != 2 || !strings.Contains(st.Message, "manifest unknown") {
		t.Errorf("status = %+v, %v", st, err)
	}
	delete(imgs.fail, "echo:latest")
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatalf("Apply after fix: %v", err)
	}
	if st, _ := rt.Status(t.Context(), spec.Ref); st.Message != "" || len(st.Replicas) != 2 {
		t.Errorf("status after fix = %+v", st)
	}
}

func TestUpdateFailureKeepsOld(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake}, func(c *Config) { c.ReadyTimeout = 500 * time.Millisecond })
	eps := started(t, rt)
	spec := echoSpec("keep", 1, 1)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	old := eps.wait(t, spec.Ref, 1)
	bad := echoSpec("keep", 2, 1)
	bad.Env = map[string]string{} // no fprocess: the watchdog exits at once
	if err := rt.Apply(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := rt.Status(t.Context(), spec.Ref)
		if strings.Contains(st.Message, "update to revision 2 failed") && len(st.Replicas) == 1 && st.Replicas[0].ID == old[0].ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v, want the old replica and a failed update", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := post(t, eps.wait(t, spec.Ref, 1)[0], "still here"); got != "still here" {
		t.Errorf("old replica answered %q", got)
	}
	// Scaling after a failed update keeps running the old revision.
	if err := rt.Scale(t.Context(), spec.Ref, 2); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 2)
}

func TestSecretsAndEnv(t *testing.T) {
	t.Setenv("FJORD_DAEMON_ONLY", "must-not-leak")
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	spec := echoSpec("envy", 1, 1)
	spec.Env = map[string]string{"fprocess": "env", "shadowed": "spec"}
	spec.Secrets = []runtime.SecretFile{{Name: "token", Data: []byte("s3cr3t\n")}}
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	ep := eps.wait(t, spec.Ref, 1)[0]
	env := envMap(strings.Split(strings.TrimSpace(post(t, ep, "")), "\n"))
	if env["FJORD_DAEMON_ONLY"] != "" || env["from_image"] != "yes" || env["shadowed"] != "spec" || env["HOSTNAME"] != ep.ID {
		t.Errorf("replica env = %v", env)
	}
	b, err := os.ReadFile(filepath.Join(env["fjord_secrets_dir"], "token"))
	if err != nil || string(b) != "s3cr3t\n" {
		t.Errorf("secret = %q, %v", b, err)
	}
	if !strings.HasPrefix(env["TMPDIR"], rt.cfg.StateDir) {
		t.Errorf("TMPDIR = %q, want a private dir under the state dir", env["TMPDIR"])
	}
}

// logBuffer is a slog handler target safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestCrashIsLogged(t *testing.T) {
	var logs logBuffer
	rt, _ := newTestRuntime(t, []string{bins.fake}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	started(t, rt)
	spec := echoSpec("crashy", 1, 1)
	spec.Env = nil
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="replica exited"`) || !strings.Contains(logs.String(), "restarts=1") {
		if time.Now().After(deadline) {
			t.Fatalf("log = %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `reason="exited with code 1"`) || !strings.Contains(logs.String(), "component=runtime.process") {
		t.Errorf("log = %s", logs.String())
	}
}

func replicaPid(t *testing.T, rt *Runtime, ref runtime.Ref) int {
	t.Helper()
	f, err := rt.lookup(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.replicas) == 0 || f.replicas[0].proc == nil {
		t.Fatal("no running replica")
	}
	return f.replicas[0].proc.Pid()
}

// waitGone waits until pid no longer exists (zombies of this test process count as gone).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := readProcStat(pid)
		if err != nil || st.startTime == 0 {
			return
		}
		if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); bytes.Contains(b, []byte(") Z ")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseStopsReplicas(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	spec := echoSpec("closing", 1, 1)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 1)
	pid := replicaPid(t, rt, spec.Ref)
	if err := rt.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitGone(t, pid)
	if err := rt.Apply(t.Context(), echoSpec("late", 1, 1)); !errors.Is(err, runtime.ErrUnavailable) {
		t.Errorf("Apply after Close: %v, want ErrUnavailable", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		// A zombie is fine only until reaped; Close waited for the process.
		t.Errorf("process %d still exists after Close", pid)
	}
}
