package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const asyncStack = `version: "1.0"
provider:
  name: openfaas
functions:
  flaky:
    lang: python3-http
    handler: ./flaky
    image: flaky:latest
    annotations:
      com.openfaas.retry.attempts: "3"
      com.openfaas.retry.min_wait: "50ms"
      com.openfaas.retry.max_wait: "200ms"
`

// The handler fails the first ?fail=N calls of each call id with 500, and
// sleeps ?sleep= seconds before answering.
const flakyHandler = `import collections
import time

counts = collections.Counter()

def handle(event, context):
    headers = {k.lower(): v for k, v in event.headers.items()}
    key = headers.get("x-call-id", "")
    counts[key] += 1
    n = counts[key]
    if n <= int(event.query.get("fail", "0")):
        return {"statusCode": 500, "body": "fail %d" % n}
    time.sleep(float(event.query.get("sleep", "0")))
    return {"statusCode": 200, "body": "ok %d %s %s" % (n, event.path, event.body.decode()),
            "headers": {"X-Fn": "flaky", "X-Seen-Agent": headers.get("user-agent", "")}}
`

// callbackSink records the callbacks it receives, by X-Call-Id.
type callbackSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]received
}

type received struct {
	header http.Header
	body   string
}

func newCallbackSink(t *testing.T) *callbackSink {
	s := &callbackSink{got: map[string][]received{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		id := r.Header.Get("X-Call-Id")
		s.got[id] = append(s.got[id], received{r.Header.Clone(), string(b)})
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns the first callback of a call id.
func (s *callbackSink) wait(t *testing.T, id string) received {
	t.Helper()
	var r received
	waitFor(t, "callback of "+id, 90*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.got[id]) > 0 {
			r = s.got[id][0]
			return true
		}
		return false
	})
	return r
}

func (s *callbackSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got[id])
}

// enqueue posts an async call and returns the response.
func enqueue(t *testing.T, d *daemon, path, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", d.url(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// enqueueOK posts an async call with a callback and returns its call id.
func enqueueOK(t *testing.T, d *daemon, sink *callbackSink, path, body string) string {
	t.Helper()
	resp := enqueue(t, d, path, body, map[string]string{"X-Callback-Url": sink.srv.URL + "/done"})
	if resp.StatusCode != 202 || resp.Header.Get("X-Call-Id") == "" {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, resp.Header)
	}
	return resp.Header.Get("X-Call-Id")
}

func deployFlaky(t *testing.T, d *daemon) {
	t.Helper()
	d.login(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"stack.yml": asyncStack, "flaky/handler.py": flakyHandler})
	d.mustCLI(t, dir, "", "up")
	waitAvailable(t, d, "flaky", 1)
}

// TestAsync: 202 and the callback, the enqueue errors, retries, the
// dead-letter list and replay, and `fjord invoke --async`.
func TestAsync(t *testing.T) {
	d := startDaemon(t)
	deployFlaky(t, d)
	sink := newCallbackSink(t)

	t.Run("callback", func(t *testing.T) {
		resp := enqueue(t, d, "/async-function/flaky/sub/path?x=1", "hello", map[string]string{
			"X-Callback-Url": sink.srv.URL + "/done", "Content-Type": "text/plain"})
		id := resp.Header.Get("X-Call-Id")
		if resp.StatusCode != 202 || id == "" || resp.Header.Get("X-Start-Time") == "" || !strings.HasPrefix(resp.Header.Get("X-Served-By"), "fjord/") {
			t.Fatalf("enqueue: %d %v", resp.StatusCode, resp.Header)
		}
		cb := sink.wait(t, id)
		if cb.body != "ok 1 /sub/path hello" {
			t.Fatalf("callback body %q", cb.body)
		}
		for k, want := range map[string]string{"X-Function-Status": "200", "X-Function-Name": "flaky", "X-Fn": "flaky"} {
			if got := cb.header.Get(k); got != want {
				t.Errorf("callback %s = %q, want %q", k, got, want)
			}
		}
		if cb.header.Get("X-Duration-Seconds") == "" || !strings.HasPrefix(cb.header.Get("X-Seen-Agent"), "fjord-queue-worker/") {
			t.Errorf("callback headers: %v", cb.header)
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			hdr                      map[string]string
			want                     int
		}{
			{"unknown function", "POST", "/async-function/nope", "", nil, 404},
			{"body over 1 MiB", "POST", "/async-function/flaky", strings.Repeat("x", 1<<20+1), nil, 413},
			{"bad callback", "POST", "/async-function/flaky", "", map[string]string{"X-Callback-Url": "::not a url"}, 400},
			{"GET", "GET", "/async-function/flaky", "", nil, 405},
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, d.url(c.path), strings.NewReader(c.body))
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
			}
		}
	})

	t.Run("retries", func(t *testing.T) {
		id := enqueueOK(t, d, sink, "/async-function/flaky.openfaas-fn?fail=2", "again")
		cb := sink.wait(t, id)
		if cb.header.Get("X-Function-Status") != "200" || cb.body != "ok 3 / again" {
			t.Fatalf("after two failures: %v %q", cb.header, cb.body)
		}
		_, metrics, _ := invoke(t, "GET", d.url("/metrics"), "")
		if !strings.Contains(metrics, `fjord_async_retried_total{function_name="flaky.openfaas-fn"} 2`) {
			t.Fatalf("retried counter:\n%s", grepLines(metrics, "fjord_async"))
		}
		if sink.count(id) != 1 {
			t.Fatalf("%d callbacks, want 1", sink.count(id))
		}
	})

	t.Run("dead letter and replay", func(t *testing.T) {
		id := enqueueOK(t, d, sink, "/async-function/flaky?fail=5", "doomed")
		cb := sink.wait(t, id)
		if cb.header.Get("X-Function-Status") != "500" || cb.body != "fail 3" {
			t.Fatalf("out of attempts: %v %q", cb.header, cb.body)
		}
		code, body := d.do("GET", "/system/async/dead-letters", "")
		if code != 200 || !strings.Contains(body, `"status":500`) || !strings.Contains(body, `"attempts":3`) || !strings.Contains(body, id) {
			t.Fatalf("dead letters: %d %s", code, body)
		}
		dlID := between(body, `"id":"`, `"`)
		// The CLI lists it as a table row and replays it.
		out := d.mustCLI(t, t.TempDir(), "", "async", "list")
		var row string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == dlID {
				row = strings.Join(f, " ")
			}
		}
		if !strings.HasPrefix(row, dlID+" flaky.openfaas-fn 500 3 function answered 500 ") {
			t.Fatalf("fjord async list, no row for %s:\n%s", dlID, out)
		}
		if out := d.mustCLI(t, t.TempDir(), "", "async", "list", "-n", "openfaas-fn", "--json"); !strings.Contains(out, id) {
			t.Fatalf("fjord async list --json lacks the call id %s:\n%s", id, out)
		}
		if out := d.mustCLI(t, t.TempDir(), "", "async", "replay", dlID); !strings.Contains(out, "Dead letter "+dlID+" queued again.") {
			t.Fatalf("fjord async replay: %s", out)
		}
		// Calls 4 and 5 fail, 6 succeeds: within the 3 attempts a replay gets.
		waitFor(t, "the replayed call's callback", 90*time.Second, func() bool { return sink.count(id) == 2 })
		sink.mu.Lock()
		again := sink.got[id][1]
		sink.mu.Unlock()
		if again.header.Get("X-Function-Status") != "200" || again.body != "ok 6 / doomed" {
			t.Fatalf("replayed call: %v %q", again.header, again.body)
		}
		if code, body := d.do("GET", "/system/async/dead-letters?namespace=openfaas-fn", ""); code != 200 || strings.TrimSpace(body) != "[]" {
			t.Fatalf("dead letters after replay: %d %s", code, body)
		}
		if code, _ := d.do("DELETE", "/system/async/dead-letters/"+dlID, ""); code != 404 {
			t.Fatalf("delete of a replayed entry: %d", code)
		}
		if code, _, _ := invoke(t, "GET", d.url("/system/async/dead-letters"), ""); code != 401 {
			t.Fatalf("dead letters without credentials: %d", code)
		}
	})

	t.Run("fjord invoke --async", func(t *testing.T) {
		out := d.mustCLI(t, t.TempDir(), "from-cli", "invoke", "flaky", "--async", "--callback-url", sink.srv.URL+"/cli")
		id := strings.TrimSpace(between(out, "X-Call-Id: ", "\n"))
		if !strings.Contains(out, "202 Accepted") || id == "" {
			t.Fatalf("invoke --async: %s", out)
		}
		if cb := sink.wait(t, id); cb.body != "ok 1 / from-cli" {
			t.Fatalf("callback of the CLI call: %q", cb.body)
		}
	})
}

// TestAsyncSurvivesKill: calls accepted before a kill -9 all complete after a
// restart on the same state dir, the one that was running included.
func TestAsyncSurvivesKill(t *testing.T) {
	d := startDaemon(t, "--async-concurrency", "1")
	deployFlaky(t, d)
	sink := newCallbackSink(t)
	var ids []string
	for i := range 4 {
		ids = append(ids, enqueueOK(t, d, sink, "/async-function/flaky?sleep=2", fmt.Sprint("call-", i)))
	}
	waitFor(t, "the first call to be running", 60*time.Second, func() bool {
		_, m, _ := invoke(t, "GET", d.url("/metrics"), "")
		return strings.Contains(m, `gateway_function_invocation_started{function_name="flaky.openfaas-fn"} 1`)
	})
	d.restart(syscall.SIGKILL)
	for i, id := range ids {
		cb := sink.wait(t, id)
		if cb.header.Get("X-Function-Status") != "200" || !strings.HasSuffix(cb.body, fmt.Sprint("call-", i)) {
			t.Errorf("call %d after the restart: %v %q", i, cb.header, cb.body)
		}
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
