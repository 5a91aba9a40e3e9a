package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// callMargin is added to a function's timeout to bound one call from the
// worker's side (scale from zero plus the router's own margin); the router
// enforces the function's timeout itself.
const callMargin = 60 * time.Second

// work fetches one message at a time until ctx ends.
func (q *Queue) work(ctx context.Context) {
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := q.cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() == nil {
				q.log.Warn("fetch async call failed", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		for msg := range batch.Messages() {
			q.process(msg)
		}
		cancel()
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
func (q *Queue) process(msg jetstream.Msg) {
	dequeued := time.Now()
	var m Message
	if err := json.Unmarshal(msg.Data(), &m); err != nil {
		q.log.Error("dropping undecodable async call", "err", err)
		_ = msg.TermWithReason("undecodable")
		return
	}
	attempt := 1
	if meta, err := msg.Metadata(); err == nil {
		attempt = int(meta.NumDelivered)
	}
	name, ns := api.SplitQualified(m.Function)
	ref := runtime.Ref{Name: name, Namespace: ns}
	settings, err := q.cfg.Functions.Settings(q.hard, ref)
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		q.log.Warn("read function settings", "function", ref.String(), "err", err)
	}
	policy := PolicyOf(settings.Annotations)
	stopKeepAlive := q.keepAlive(msg)
	defer stopKeepAlive()

	res := q.call(q.hard, &m, settings.Timeout)
	if q.hard.Err() != nil {
		// Shutting down: hand the message back; it is redelivered at once (or after a restart).
		_ = msg.Nak()
		return
	}
	label := ref.String()
	log := q.log.With("function", label, "call_id", m.CallID, "attempt", attempt, "status", res.status)
	if res.failed() && (res.transport || policy.Retries(res.status)) && attempt < policy.Attempts {
		wait := policy.Backoff(attempt)
		if d, ok := retryAfter(res.status, res.header, time.Now()); ok {
			wait = d
		}
		log.Info("async call failed, retrying", "wait", wait, "err", res.err)
		q.metrics.retried(label)
		stopKeepAlive()
		if err := msg.NakWithDelay(wait); err != nil {
			log.Warn("nak async call", "err", err)
		}
		return
	}
	outcome := "success"
	if res.failed() {
		outcome = "dead_letter"
		if err := q.deadLetter(q.hard, &m, ref, res, attempt); err != nil {
			log.Error("dead-letter async call failed, will retry", "err", err)
			stopKeepAlive()
			_ = msg.NakWithDelay(policy.MinWait)
			return
		}
		log.Warn("async call dead-lettered", "err", res.err)
	}
	if m.CallbackURL != "" {
		q.callback(q.hard, &m, res, dequeued)
	}
	stopKeepAlive()
	if err := msg.DoubleAck(q.hard); err != nil {
		log.Warn("ack async call", "err", err)
	}
	q.metrics.completed(label, outcome)
	log.Debug("async call done", "outcome", outcome)
}

// keepAlive tells JetStream every AckWait/3 that the message is being worked
// on, so the deadline follows the call however long the function runs.
// The returned stop is idempotent and waits for the ticker goroutine.
func (q *Queue) keepAlive(msg jetstream.Msg) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(q.cfg.AckWait/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = msg.InProgress()
			case <-done:
				return
			}
		}
	}()
	var once bool
	return func() {
		if !once {
			once = true
			close(done)
			<-stopped
		}
	}
}

// call sends m through the gateway's handler as POST /function/NAME[path][?query].
func (q *Queue) call(ctx context.Context, m *Message, timeout time.Duration) (res result) {
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

	w := newRecorder()
	defer func() {
		if p := recover(); p != nil {
			res = result{status: http.StatusServiceUnavailable, transport: true, err: fmt.Sprint("call aborted: ", p)}
		}
	}()
	q.handler.ServeHTTP(w, req)
	return w.result()
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

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

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
