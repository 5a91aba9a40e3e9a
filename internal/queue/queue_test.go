package queue

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// fakeFunctions knows functions by "name.namespace".
type fakeFunctions map[string]FunctionSettings

func (f fakeFunctions) Settings(_ context.Context, ref runtime.Ref) (FunctionSettings, error) {
	s, ok := f[ref.String()]
	if !ok {
		return FunctionSettings{}, api.ErrNotFound
	}
	return s, nil
}

// seen is one request the fake gateway received.
type seen struct {
	url    string
	header http.Header
	body   string
}

// fakeGateway stands in for the gateway's handler: answer decides the reply
// to the n-th call (1-based).
type fakeGateway struct {
	mu     sync.Mutex
	calls  []seen
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.calls = append(g.calls, seen{url: r.URL.String(), header: r.Header.Clone(), body: string(b)})
	n := len(g.calls)
	g.mu.Unlock()
	g.answer(n, w, r)
}

func (g *fakeGateway) call(i int) seen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[i]
}

func (g *fakeGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// reply answers like a function behind a watchdog (with X-Duration-Seconds).
func reply(code int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Duration-Seconds", "123.000000")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// callbacks collects the callbacks a test server receives.
type callbacks struct {
	srv *httptest.Server
	ch  chan seen
}

func newCallbacks(t *testing.T) *callbacks {
	c := &callbacks{ch: make(chan seen, 100)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.ch <- seen{url: r.URL.String(), header: r.Header.Clone(), body: string(b)}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callbacks) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-c.ch:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("no callback received")
		return seen{}
	}
}

func (c *callbacks) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-c.ch:
		t.Fatalf("unexpected second callback: %+v", s)
	default:
	}
}

// fastRetry makes retries quick.
var fastRetry = map[string]string{
	AnnotationRetryAttempts: "3",
	AnnotationRetryMinWait:  "10ms",
	AnnotationRetryMaxWait:  "40ms",
}

func startQueue(t *testing.T, dir string, fns Functions, h http.Handler) *Queue {
	t.Helper()
	return startQueueWith(t, dir, fns, h, 2)
}

func startQueueWith(t *testing.T, dir string, fns Functions, h http.Handler, workers int) *Queue {
	t.Helper()
	cfg := Default()
	cfg.Dir = dir
	cfg.Functions = fns
	cfg.AckWait = 600 * time.Millisecond
	cfg.Concurrency = workers
	cfg.Registry = prometheus.NewRegistry()
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h != nil {
		q.StartWorkers(h)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}

func message(fn, callback string) *Message {
	return &Message{
		CallID: "call-" + strconv.FormatInt(time.Now().UnixNano(), 36), StartTime: time.Now().UnixNano(),
		Header: http.Header{"X-Custom": {"yes"}, "Content-Type": {"text/plain"}, "User-Agent": {"curl/8"}},
		Host:   "example.test", Body: []byte("hello"), Method: http.MethodPost,
		Path: "/a/b", QueryString: "x=1", Function: fn, CallbackURL: callback,
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestCallAndCallback(t *testing.T) {
	gw := &fakeGateway{answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Fn", "yes")
		reply(http.StatusCreated, "done")(0, w, nil)
	}}
	q := startQueue(t, t.TempDir(), fakeFunctions{"fn.openfaas-fn": {}}, gw)
	cb := newCallbacks(t)
	m := message("fn", cb.srv.URL+"/hook?k=v")
	if err := q.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := cb.next(t)
	if got.body != "done" || got.url != "/hook?k=v" {
		t.Fatalf("callback: %+v", got)
	}
	want := map[string]string{
		HeaderFunctionStatus: "201", HeaderFunctionName: "fn", HeaderCallID: m.CallID,
		"X-Fn": "yes", "Content-Type": "text/plain",
	}
	for k, v := range want {
		if got.header.Get(k) != v {
			t.Errorf("callback header %s = %q, want %q", k, got.header.Get(k), v)
		}
	}
	if d, err := strconv.ParseFloat(got.header.Get(HeaderDuration), 64); err != nil || got.header.Get(HeaderDuration) == "123.000000" {
		t.Errorf("X-Duration-Seconds must be the worker's own: %q (%v)", got.header.Get(HeaderDuration), d)
	}
	if gw.count() != 1 {
		t.Fatalf("function called %d times", gw.count())
	}
	call := gw.call(0)
	if call.url != "/function/fn/a/b?x=1" || call.body != "hello" {
		t.Fatalf("call: %+v", call)
	}
	if call.header.Get("X-Custom") != "yes" || call.header.Get("User-Agent") != "fjord-queue-worker" || call.header.Get("X-Call-Id") != m.CallID {
		t.Fatalf("call headers: %v", call.header)
	}
	waitUntil(t, "the message to be acknowledged", func() bool { return q.depth() == 0 })
	if v := testutil.ToFloat64(q.metrics.completedC.WithLabelValues("fn.openfaas-fn", "success")); v != 1 {
		t.Fatalf("completed success = %v", v)
	}
	cb.none(t)
}

func TestRetryThenSuccess(t *testing.T) {
	gw := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			reply(http.StatusInternalServerError, "boom")(n, w, r)
			return
		}
		reply(http.StatusOK, "ok")(n, w, r)
	}}
	q := startQueue(t, t.TempDir(), fakeFunctions{"fn.openfaas-fn": {Annotations: fastRetry}}, gw)
	cb := newCallbacks(t)
	if err := q.Enqueue(context.Background(), message("fn.openfaas-fn", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	got := cb.next(t)
	if got.header.Get(HeaderFunctionStatus) != "200" || got.body != "ok" {
		t.Fatalf("callback: %+v", got)
	}
	if gw.count() != 3 {
		t.Fatalf("calls = %d, want 3", gw.count())
	}
	if v := testutil.ToFloat64(q.metrics.retriedC.WithLabelValues("fn.openfaas-fn")); v != 2 {
		t.Fatalf("retried = %v, want 2", v)
	}
	cb.none(t)
}

func TestDeadLetterAndReplay(t *testing.T) {
	var fail sync.Map
	fail.Store("on", true)
	gw := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		if v, _ := fail.Load("on"); v.(bool) {
			reply(http.StatusBadGateway, "bad")(n, w, r)
			return
		}
		reply(http.StatusOK, "fixed")(n, w, r)
	}}
	q := startQueue(t, t.TempDir(), fakeFunctions{"fn.team": {Annotations: fastRetry}, "other.openfaas-fn": {}}, gw)
	cb := newCallbacks(t)
	m := message("fn.team", cb.srv.URL)
	if err := q.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := cb.next(t)
	if got.header.Get(HeaderFunctionStatus) != "502" || got.body != "bad" {
		t.Fatalf("callback: %+v", got)
	}
	if gw.count() != 3 {
		t.Fatalf("calls = %d, want 3 (the attempts annotation)", gw.count())
	}
	ctx := context.Background()
	dls, err := q.DeadLetters(ctx, "")
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters: %v %+v", err, dls)
	}
	dl := dls[0]
	var stored Message
	if err := json.Unmarshal(dl.Message, &stored); err != nil {
		t.Fatalf("stored message: %v", err)
	}
	if dl.Function != "fn" || dl.Namespace != "team" || dl.Status != 502 || dl.Attempts != 3 || dl.Error == "" ||
		stored.CallID != m.CallID || string(stored.Body) != "hello" || dl.Time.IsZero() {
		t.Fatalf("dead letter: %+v", dl)
	}
	if other, err := q.DeadLetters(ctx, "openfaas-fn"); err != nil || len(other) != 0 {
		t.Fatalf("namespace filter: %v %+v", err, other)
	}
	if err := q.Replay(ctx, "999"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("replay of an unknown id: %v", err)
	}
	fail.Store("on", false)
	if err := q.Replay(ctx, dl.ID); err != nil {
		t.Fatal(err)
	}
	got = cb.next(t)
	if got.header.Get(HeaderFunctionStatus) != "200" || got.header.Get(HeaderCallID) != m.CallID {
		t.Fatalf("callback after replay: %+v", got)
	}
	if dls, err := q.DeadLetters(ctx, ""); err != nil || len(dls) != 0 {
		t.Fatalf("dead letters after replay: %v %+v", err, dls)
	}
	if err := q.DeleteDeadLetter(ctx, dl.ID); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("delete of a replayed id: %v", err)
	}
}

func TestStatusNotRetriedAndTransportError(t *testing.T) {
	gw := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/function/gone/a/b" {
			// The router's own answer: no replica reached, no X-Duration-Seconds.
			http.Error(w, "No endpoints available for: gone.", http.StatusServiceUnavailable)
			return
		}
		reply(http.StatusBadRequest, "no")(n, w, r)
	}}
	q := startQueue(t, t.TempDir(), fakeFunctions{"fn.openfaas-fn": {Annotations: fastRetry}, "gone.openfaas-fn": {Annotations: fastRetry}}, gw)
	cb := newCallbacks(t)
	ctx := context.Background()
	if err := q.Enqueue(ctx, message("fn", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	if got := cb.next(t); got.header.Get(HeaderFunctionStatus) != "400" || gw.count() != 1 {
		t.Fatalf("400 is not retried: calls %d, callback %+v", gw.count(), got)
	}
	if err := q.Enqueue(ctx, message("gone", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	got := cb.next(t)
	if got.header.Get(HeaderFunctionStatus) != "503" || got.body != "" || gw.count() != 4 {
		t.Fatalf("transport errors are retried (3 attempts) and reported as 503 with an empty body: calls %d, %+v", gw.count(), got)
	}
	dls, err := q.DeadLetters(ctx, "")
	if err != nil || len(dls) != 2 || dls[0].Attempts != 1 || dls[1].Attempts != 3 || dls[1].Status != 503 {
		t.Fatalf("dead letters: %v %+v", err, dls)
	}
	if err := q.DeleteDeadLetter(ctx, dls[0].ID); err != nil {
		t.Fatal(err)
	}
	if dls, _ := q.DeadLetters(ctx, ""); len(dls) != 1 {
		t.Fatalf("after delete: %+v", dls)
	}
}

// TestRedeliveryAfterCrash: a worker that dies mid-call never acknowledges;
// the message survives a restart of the server on the same store and runs again.
func TestRedeliveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	blocking := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}}
	fns := fakeFunctions{"fn.openfaas-fn": {}}
	q1 := startQueue(t, dir, fns, blocking)
	cb := newCallbacks(t)
	m := message("fn", cb.srv.URL)
	if err := q1.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	<-started
	q1.crash()
	close(release)

	gw := &fakeGateway{answer: reply(http.StatusOK, "again")}
	q2 := startQueue(t, dir, fns, gw)
	got := cb.next(t)
	if got.header.Get(HeaderCallID) != m.CallID || got.body != "again" || gw.count() != 1 {
		t.Fatalf("redelivered call: %d calls, callback %+v", gw.count(), got)
	}
	waitUntil(t, "the queue to empty", func() bool { return q2.depth() == 0 })
}

// TestCloseHandsBackRunningCalls: a call still running when Close's context
// ends is cancelled and redelivered after a restart.
func TestCloseHandsBackRunningCalls(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{}, 1)
	blocking := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		w.WriteHeader(http.StatusBadGateway)
	}}
	fns := fakeFunctions{"fn.openfaas-fn": {}}
	q1 := startQueue(t, dir, fns, blocking)
	cb := newCallbacks(t)
	if err := q1.Enqueue(context.Background(), message("fn", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cb.none(t)
	gw := &fakeGateway{answer: reply(http.StatusOK, "after restart")}
	startQueue(t, dir, fns, gw)
	if got := cb.next(t); got.body != "after restart" {
		t.Fatalf("callback: %+v", got)
	}
}
