package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
)

const hostnameHandler = `import os

def handle(event, context):
    return {"statusCode": 200, "body": "replica=" + context.hostname + " method=" + event.method + " path=" + event.path + " query=" + str(sorted(event.query.items()) if hasattr(event.query, "items") else event.query)}
`

// deployHostnameFn deploys a python3-http function that reports which replica served.
func deployHostnameFn(t *testing.T, d *daemon, name string) {
	t.Helper()
	dir := t.TempDir()
	d.mustCLI(t, dir, "", "new", name, "--lang", "python3-http")
	if err := os.WriteFile(filepath.Join(dir, name, "handler.py"), []byte(hostnameHandler), 0o644); err != nil {
		t.Fatal(err)
	}
	d.mustCLI(t, dir, "", "up")
	waitAvailable(t, d, name, 1)
}

func status(t *testing.T, d *daemon, name string) api.FunctionStatus {
	t.Helper()
	code, body := d.do("GET", "/system/function/"+name, "")
	var st api.FunctionStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("status of %s: %d %s", name, code, body)
	}
	return st
}

func waitAvailable(t *testing.T, d *daemon, name string, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to have %d available replicas", name, n), 60*time.Second, func() bool {
		st := status(t, d, name)
		return st.AvailableReplicas == n && st.Replicas == n
	})
}

func scale(t *testing.T, d *daemon, name string, n int) {
	t.Helper()
	body := fmt.Sprintf(`{"serviceName":%q,"replicas":%d}`, name, n)
	if code, out := d.do("POST", "/system/scale-function/"+name, body); code != 202 {
		t.Fatalf("scale %s to %d: %d %s", name, n, code, out)
	}
}

// TestScaleMethodsAndRestart covers scale 0→3→1 with traffic spread, scale from
// zero, every method with path and query, and restarts (SIGTERM and kill -9).
func TestScaleMethodsAndRestart(t *testing.T) {
	d := startDaemon(t)
	d.login(t)
	const fn = "whoami"
	deployHostnameFn(t, d, fn)

	t.Run("methods", func(t *testing.T) {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			code, body, _ := invoke(t, m, d.url("/function/"+fn+"/a/b?x=1"), "")
			if code != 200 || !strings.Contains(body, "method="+m) || !strings.Contains(body, "path=/a/b") || !strings.Contains(body, "x") {
				t.Errorf("%s: %d %q", m, code, body)
			}
		}
		if code, _, _ := invoke(t, "HEAD", d.url("/function/"+fn), ""); code != 200 {
			t.Errorf("HEAD: %d", code)
		}
		if code, _, _ := invoke(t, "TRACE", d.url("/function/"+fn), ""); code != 405 {
			t.Errorf("TRACE: %d, want 405", code)
		}
	})

	t.Run("scale-from-zero", func(t *testing.T) {
		scale(t, d, fn, 0)
		waitFor(t, "scale to zero", 30*time.Second, func() bool {
			st := status(t, d, fn)
			return st.Replicas == 0 && st.AvailableReplicas == 0
		})
		code, body, _ := invoke(t, "GET", d.url("/function/"+fn+"."+api.DefaultNamespace), "")
		if code != 200 || !strings.Contains(body, "replica=") {
			t.Fatalf("call at zero: %d %q", code, body)
		}
		if st := status(t, d, fn); st.Replicas != 1 {
			t.Fatalf("after scale from zero: replicas %d, want 1", st.Replicas)
		}
	})

	t.Run("spread", func(t *testing.T) {
		scale(t, d, fn, 3)
		waitAvailable(t, d, fn, 3)
		seen := map[string]int{}
		for i := 0; i < 60; i++ {
			_, body, _ := invoke(t, "GET", d.url("/function/"+fn), "")
			seen[strings.Fields(body)[0]]++
		}
		if len(seen) < 2 {
			t.Fatalf("60 calls over 3 replicas all went to %v", seen)
		}
		scale(t, d, fn, 1)
		waitAvailable(t, d, fn, 1)
	})

	t.Run("restart", func(t *testing.T) {
		d.restart(syscall.SIGTERM)
		waitAvailable(t, d, fn, 1)
		if code, _, _ := invoke(t, "GET", d.url("/function/"+fn), ""); code != 200 {
			t.Fatalf("after SIGTERM restart: %d", code)
		}
		children := childPIDs(d.cmd.Process.Pid)
		if len(children) == 0 {
			t.Fatal("found no replica processes under the daemon")
		}
		d.restart(syscall.SIGKILL)
		waitFor(t, "replicas of the killed daemon to exit", 10*time.Second, func() bool {
			for _, pid := range children {
				if alive(pid) {
					return false
				}
			}
			return true
		})
		waitAvailable(t, d, fn, 1)
		if code, _, _ := invoke(t, "GET", d.url("/function/"+fn), ""); code != 200 {
			t.Fatalf("after kill -9 restart: %d", code)
		}
	})

	t.Run("logs", func(t *testing.T) {
		code, body := d.do("GET", "/system/logs?name="+fn+"&follow=false&tail=-1", "")
		if code != 200 || !strings.Contains(body, `"name":"`+fn+`"`) {
			t.Fatalf("logs: %d %s", code, body)
		}
	})

	t.Run("remove", func(t *testing.T) {
		d.mustCLI(t, t.TempDir(), "", "remove", fn)
		waitFor(t, "function removed", 20*time.Second, func() bool {
			code, _, _ := invoke(t, "GET", d.url("/function/"+fn), "")
			return code == 404
		})
	})
}

// childPIDs lists the direct children of pid.
func childPIDs(pid int) []int { return procChildren()[pid] }

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func usageStatus(t *testing.T, d *daemon, name string) api.FunctionStatus {
	t.Helper()
	code, body := d.do("GET", "/system/function/"+name+"?usage=1", "")
	var st api.FunctionStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("status of %s: %d %s", name, code, body)
	}
	return st
}

// TestGracefulShutdown: SIGTERM lets a call in flight finish, then the daemon
// exits and takes its replicas with it.
func TestGracefulShutdown(t *testing.T) {
	d := startDaemon(t)
	d.login(t)
	dir := t.TempDir()
	d.mustCLI(t, dir, "", "new", "slow", "--lang", "bash")
	if err := os.WriteFile(filepath.Join(dir, "slow", "handler.sh"), []byte("#!/bin/bash\nsleep 2\necho finished\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d.mustCLI(t, dir, "", "up")
	waitAvailable(t, d, "slow", 1)
	children := childPIDs(d.cmd.Process.Pid)
	type result struct {
		code int
		body string
	}
	done := make(chan result, 1)
	go func() {
		code, body, _ := invoke(t, "POST", d.url("/function/slow"), "")
		done <- result{code, body}
	}()
	waitFor(t, "the call to reach the gateway", 10*time.Second, func() bool {
		_, m, _ := invoke(t, "GET", d.url("/metrics"), "")
		return strings.Contains(m, `gateway_function_invocation_started{function_name="slow.openfaas-fn"} 1`)
	})
	d.stop(syscall.SIGTERM)
	r := <-done
	if r.code != 200 || !strings.Contains(r.body, "finished") {
		t.Fatalf("in-flight call during shutdown: %d %q", r.code, r.body)
	}
	for _, pid := range children {
		if alive(pid) {
			t.Errorf("replica process %d outlived the daemon", pid)
		}
	}
}

const slowHandler = `import time

def handle(event, context):
    time.sleep(0.2)
    return {"statusCode": 200, "body": "ok " + context.hostname}
`

// TestZeroDowntimeUpdate redeploys and scales down an http-mode function (served
// on the direct path) while calls are in flight: no call may fail.
func TestZeroDowntimeUpdate(t *testing.T) {
	d := startDaemon(t)
	d.login(t)
	dir := t.TempDir()
	d.mustCLI(t, dir, "", "new", "steady", "--lang", "python3-http")
	if err := os.WriteFile(filepath.Join(dir, "steady", "handler.py"), []byte(slowHandler), 0o644); err != nil {
		t.Fatal(err)
	}
	d.mustCLI(t, dir, "", "up")
	scale(t, d, "steady", 2)
	waitAvailable(t, d, "steady", 2)
	before := map[string]bool{}
	for _, in := range status(t, d, "steady").Instances {
		before[in.ID] = true
	}

	stop := make(chan struct{})
	var mu sync.Mutex
	var calls int
	var failures []string
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, _ := invoke(t, "GET", d.url("/function/steady"), "")
				mu.Lock()
				calls++
				if code != 200 {
					failures = append(failures, fmt.Sprintf("%d %q", code, body))
				}
				mu.Unlock()
			}
		}()
	}
	d.mustCLI(t, dir, "", "up") // a new revision: every replica is replaced
	waitFor(t, "all replicas replaced", 60*time.Second, func() bool {
		st := status(t, d, "steady")
		if st.AvailableReplicas != 2 || len(st.Instances) != 2 {
			return false
		}
		for _, in := range st.Instances {
			if before[in.ID] {
				return false
			}
		}
		return true
	})
	scale(t, d, "steady", 1)
	waitAvailable(t, d, "steady", 1)
	time.Sleep(300 * time.Millisecond) // let calls run on the remaining replica
	close(stop)
	wg.Wait()
	if calls < 10 || len(failures) > 0 {
		t.Fatalf("%d calls during update and scale-down, %d failed: %v", calls, len(failures), failures)
	}
	t.Logf("%d calls during update and scale-down, none failed", calls)
}
