package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// callMargin is added to a function's timeout to bound one call from the
// worker's side (scale from zero plus the router's own margin); the router
// enforces the function's timeout itself.
const callMargin = 60 * time.Second

// consume runs the workers until ctx ends. They share one pull subscription
// that keeps at most prefetch messages waiting in this process, so a busy
// worker holds nothing another could run. When the subscription ends for any
// other reason (the consumer deleted, the connection closed), a new one
// starts once the running calls are done.
func (q *Queue) consume(ctx context.Context) {
	for ctx.Err() == nil {
		it, err := q.cons.Messages(jetstream.PullMaxMessages(q.prefetch()))
		if err != nil {
			q.log.Warn("subscribe to async calls failed", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		// Drain, not Stop: messages already here come out of Next and are
		// handed back at once instead of waiting out the ack wait.
		undo := context.AfterFunc(ctx, it.Drain)
		var wg sync.WaitGroup
		for range q.cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.work(ctx, it)
			}()
		}
		wg.Wait()
		undo()
		it.Stop()
		if ctx.Err() == nil {
			q.log.Warn("async call subscription ended; subscribing again")
			sleep(ctx, time.Second)
		}
	}
}

// prefetch is how many messages may wait in this process for a free worker.
func (q *Queue) prefetch() int { return max(q.cfg.Concurrency, 2) }

// work runs messages from it one after the other until it is closed; after
// ctx ends, messages still coming out of it are handed back unrun.
func (q *Queue) work(ctx context.Context, it jetstream.MessagesContext) {
	w := &worker{q: q, keep: newKeeper(max(q.cfg.AckWait/3, 10*time.Millisecond))}
	defer w.keep.stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if ctx.Err() == nil {
				q.log.Warn("receive async call failed", "err", err)
				sleep(ctx, 100*time.Millisecond)
			}
			continue
		}
		if ctx.Err() != nil {
			_ = msg.Nak()
			continue
		}
		w.process(msg)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// worker is one worker's reusable state.
type worker struct {
	q    *Queue
	keep *keeper
	rec  recorder
}

// keeper tells JetStream every so often that a message is being worked on,
// so its deadline follows the call however long the function runs. One
// timer per worker serves all its messages.
type keeper struct {
	mu    sync.Mutex
	every time.Duration
	t     *time.Timer
	msg   jetstream.Msg // nil when idle
}

func newKeeper(every time.Duration) *keeper {
	k := &keeper{every: every}
	k.t = time.AfterFunc(time.Hour, k.tick)
	k.t.Stop()
	return k
}

func (k *keeper) tick() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.msg == nil {
		return
	}
	_ = k.msg.InProgress()
	k.t.Reset(k.every)
}

func (k *keeper) start(msg jetstream.Msg) {
	k.mu.Lock()
	k.msg = msg
	k.t.Reset(k.every)
	k.mu.Unlock()
}

// stop ends the renewals; none is sent after it returns, so a Nak's delay
// that follows is not cut short.
func (k *keeper) stop() {
	k.mu.Lock()
	k.msg = nil
	k.t.Stop()
	k.mu.Unlock()
}

// inflight keeps one process from running a call twice. A message that waited
// in the prefetch longer than the ack wait (every worker busy with a long
// call) is handed out again by JetStream; that copy is skipped while the
// first delivery runs or when it was acknowledged recently. The first
// delivery's renewals and ack apply to the copy too (JetStream keys them by
// stream sequence).
type inflight struct {
	mu      sync.Mutex
	running map[uint64]struct{}
	done    map[uint64]struct{}
	ring    [1024]uint64 // done, oldest evicted first
	next    int
	skipped int // copies skipped, for tests
}

// begin reports whether seq may run here, and marks it running.
func (f *inflight) begin(seq uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		f.running, f.done = map[uint64]struct{}{}, map[uint64]struct{}{}
	}
	_, running := f.running[seq]
	_, done := f.done[seq]
	if running || done {
		f.skipped++
		return false
	}
	f.running[seq] = struct{}{}
	return true
}

// end unmarks seq; acked remembers it as done.
func (f *inflight) end(seq uint64, acked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.running, seq)
	if !acked {
		return
	}
	if old := f.ring[f.next]; old != 0 {
		delete(f.done, old)
	}
	f.ring[f.next] = seq
	f.done[seq] = struct{}{}
	f.next = (f.next + 1) % len(f.ring)
}

// result is the outcome of one call.
type result struct {
	status    int
	header    http.Header
	body      []byte
	transport bool // no answer from the function (502/503 from the router itself, or an aborted call)
	err       string
}

func (r result) failed() bool { return r.transport || r.status >= 400 }

// process runs one delivery of a message: call, then retry (NakWithDelay) or
// finish (dead letter, callback, ack).
func (w *worker) process(msg jetstream.Msg) {
	q := w.q
	dequeued := time.Now()
	meta, err := msg.Metadata()
	if err != nil {
		q.log.Error("dropping async call without metadata", "err", err)
		_ = msg.TermWithReason("no metadata")
		return
	}
	seq, attempt := meta.Sequence.Stream, int(meta.NumDelivered)
	if !q.inflight.begin(seq) {
		q.log.Debug("skipping a second delivery of a call running or done here", "seq", seq)
		return
	}
	acked := false
	defer func() { q.inflight.end(seq, acked) }()
	w.keep.start(msg)
	defer w.keep.stop()

	var m Message
	if err := json.Unmarshal(msg.Data(), &m); err != nil {
		q.log.Error("dropping undecodable async call", "err", err)
		w.keep.stop()
		_ = msg.TermWithReason("undecodable")
		return
	}
	name, ns := api.SplitQualified(m.Function)
	ref := runtime.Ref{Name: name, Namespace: ns}
	settings := q.settings.get(q.hard, q.cfg.Functions, ref, dequeued, q.log)

	res := w.call(q.hard, &m, settings.Timeout)
	if q.hard.Err() != nil {
		// Shutting down: hand the message back; it is redelivered at once (or after a restart).
		w.keep.stop()
		_ = msg.Nak()
		return
	}
	label := ref.String()
	outcome := "success"
	if res.failed() {
		policy := PolicyOf(settings.Annotations)
		if (res.transport || policy.Retries(res.status)) && attempt < policy.Attempts {
			wait := policy.Backoff(attempt)
			if d, ok := retryAfter(res.status, res.header, time.Now()); ok {
				wait = d
			}
			q.logCall(slog.LevelInfo, "async call failed, retrying", &m, label, attempt, res.status, "wait", wait, "err", res.err)
			q.metrics.retried(label)
			w.keep.stop()
			if err := msg.NakWithDelay(wait); err != nil {
				q.logCall(slog.LevelWarn, "nak async call", &m, label, attempt, res.status, "err", err)
			}
			return
		}
		outcome = "dead_letter"
		if err := q.deadLetter(q.hard, &m, ref, res, attempt); err != nil {
			q.logCall(slog.LevelError, "dead-letter async call failed, will retry", &m, label, attempt, res.status, "err", err)
			w.keep.stop()
			_ = msg.NakWithDelay(policy.MinWait)
			return
		}
		q.logCall(slog.LevelWarn, "async call dead-lettered", &m, label, attempt, res.status, "err", res.err)
	}
	if m.CallbackURL != "" {
		q.callback(q.hard, &m, res, dequeued)
	}
	w.keep.stop()
	if err := msg.DoubleAck(q.hard); err != nil {
		q.logCall(slog.LevelWarn, "ack async call", &m, label, attempt, res.status, "err", err)
	} else {
		acked = true
	}
	q.metrics.completed(label, outcome)
	if q.log.Enabled(q.hard, slog.LevelDebug) {
		q.logCall(slog.LevelDebug, "async call done", &m, label, attempt, res.status, "outcome", outcome)
	}
}

// logCall logs about one call with its function, id, attempt and status.
func (q *Queue) logCall(level slog.Level, msg string, m *Message, label string, attempt, status int, args ...any) {
	if !q.log.Enabled(q.hard, level) {
		return
	}
	args = append(args, "function", label, "call_id", m.CallID, "attempt", attempt, "status", status)
	q.log.Log(q.hard, level, msg, args...)
}

// call sends m through the gateway's handler as POST /function/NAME[path][?query].
func (w *worker) call(ctx context.Context, m *Message, timeout time.Duration) (res result) {
	q := w.q
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+callMargin)
	defer cancel()
	path := m.Path
	if path == "" {
		path = "/"
	}
	target := "/function/" + m.Function + path
	if m.QueryString != "" {
		target += "?" + m.QueryString
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(m.Body))
	if err != nil {
		return result{status: http.StatusBadRequest, err: "build request: " + err.Error()}
	}
	req.Header = m.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection"} {
		req.Header.Del(k)
	}
	req.Header.Set("User-Agent", q.cfg.UserAgent)
	if m.CallID != "" {
		req.Header.Set("X-Call-Id", m.CallID)
	}
	req.Host = m.Host
	req.RemoteAddr = "127.0.0.1:0"
	req.RequestURI = target

	rec := &w.rec
	rec.reset()
	defer func() {
		if p := recover(); p != nil {
			res = result{status: http.StatusServiceUnavailable, transport: true, err: fmt.Sprint("call aborted: ", p)}
		}
	}()
	q.handler.ServeHTTP(rec, req)
	return rec.result()
}

// recorder is the in-memory ResponseWriter a worker's call writes to.
type recorder struct {
	h     http.Header
	code  int
	body  bytes.Buffer
	wrote bool
}

// maxResponse caps the response body a worker keeps for the callback.
const maxResponse = 32 << 20

// keepBody is the most buffer a worker keeps between calls.
const keepBody = 64 << 10

// reset readies the recorder for the next call; the previous result's body
// must no longer be in use.
func (w *recorder) reset() {
	w.h, w.code, w.wrote = http.Header{}, 0, false
	if w.body.Cap() > keepBody {
		w.body = bytes.Buffer{}
	}
	w.body.Reset()
}

func (w *recorder) Header() http.Header { return w.h }

func (w *recorder) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return
	}
	w.code, w.wrote = code, true
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if room := maxResponse - w.body.Len(); room < len(b) {
		w.body.Write(b[:max(room, 0)])
		return len(b), nil
	}
	return w.body.Write(b)
}

func (w *recorder) Flush() {}

func (w *recorder) result() result {
	code := w.code
	if !w.wrote {
		code = http.StatusOK
	}
	r := result{status: code, header: w.h, body: w.body.Bytes()}
	// The router's own 502 and 503 (no replica reached) carry no
	// X-Duration-Seconds; a function's answer always does.
	if (code == http.StatusBadGateway || code == http.StatusServiceUnavailable) && w.h.Get("X-Duration-Seconds") == "" {
		r.transport = true
		r.status = http.StatusServiceUnavailable
		r.err = "no answer from the function: " + strconv.Itoa(code) + " " + string(bytes.TrimSpace(r.body))
		r.body = nil
	} else if r.failed() {
		r.err = "function answered " + strconv.Itoa(code)
	}
	return r
}

// settingsTTL is how long a worker reuses a function's settings; a change of
// its timeout or retry annotations applies to calls taken after that.
const settingsTTL = time.Second

// settingsCache spares the store a read per message in a burst of calls to
// one function.
type settingsCache struct {
	mu sync.Mutex
	m  map[runtime.Ref]cachedSettings
}

type cachedSettings struct {
	s  FunctionSettings
	at time.Time
}

func (c *settingsCache) get(ctx context.Context, fns Functions, ref runtime.Ref, now time.Time, log *slog.Logger) FunctionSettings {
	c.mu.Lock()
	e, ok := c.m[ref]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < settingsTTL {
		return e.s
	}
	s, err := fns.Settings(ctx, ref)
	if err != nil {
		if !errors.Is(err, api.ErrNotFound) {
			log.Warn("read function settings", "function", ref.String(), "err", err)
		}
		return s
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1024 {
		c.m = map[runtime.Ref]cachedSettings{}
	}
	c.m[ref] = cachedSettings{s, now}
	c.mu.Unlock()
	return s
}
