package queue

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestBusyWorkerHoldsNothing: while one worker is stuck in a long call, the
// others run every call queued after it.
func TestBusyWorkerHoldsNothing(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	gw := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/function/slow/a/b" {
			started <- struct{}{}
			<-release
		}
		reply(http.StatusOK, "ok")(n, w, r)
	}}
	q := startQueue(t, t.TempDir(), fakeFunctions{"slow.openfaas-fn": {}, "fn.openfaas-fn": {}}, gw)
	cb := newCallbacks(t)
	ctx := context.Background()
	if err := q.Enqueue(ctx, message("slow", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	<-started
	const n = 10
	for range n {
		if err := q.Enqueue(ctx, message("fn", cb.srv.URL)); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if got := cb.next(t); got.header.Get(HeaderFunctionName) != "fn" {
			t.Fatalf("callback of %q before the slow call ended", got.header.Get(HeaderFunctionName))
		}
	}
	close(release)
	if got := cb.next(t); got.header.Get(HeaderFunctionName) != "slow" {
		t.Fatalf("last callback: %+v", got)
	}
}

// TestPrefetchedCallRunsOnce: a call that waits in the prefetch longer than
// the ack wait (the only worker busy) still runs once.
func TestPrefetchedCallRunsOnce(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	runs := map[string]int{}
	gw := &fakeGateway{answer: func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		runs[r.Header.Get("X-Call-Id")]++
		mu.Unlock()
		if r.URL.Path == "/function/slow/a/b" {
			started <- struct{}{}
			<-release
		}
		reply(http.StatusOK, "ok")(n, w, r)
	}}
	cfg := fakeFunctions{"slow.openfaas-fn": {}, "fn.openfaas-fn": {}}
	q := startQueueWith(t, t.TempDir(), cfg, gw, 1)
	cb := newCallbacks(t)
	ctx := context.Background()
	if err := q.Enqueue(ctx, message("slow", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	<-started
	waiting := message("fn", cb.srv.URL)
	waiting.CallID = "waiting"
	if err := q.Enqueue(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	// The only worker is busy: the second call sits in the prefetch past
	// its ack wait, so JetStream hands it out again once the worker asks
	// for more.
	waitUntil(t, "the waiting call to be delivered", func() bool {
		info, err := q.cons.Info(ctx)
		return err == nil && info.NumAckPending == 2
	})
	time.Sleep(3 * q.cfg.AckWait)
	close(release)
	cb.next(t)
	cb.next(t)
	waitUntil(t, "the queue to empty", func() bool {
		info, err := q.cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && q.depth() == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if runs["waiting"] != 1 {
		t.Fatalf("the prefetched call ran %d times", runs["waiting"])
	}
	cb.none(t)
}

func TestInflight(t *testing.T) {
	var f inflight
	if !f.begin(1) || f.begin(1) {
		t.Fatal("a running sequence must not begin twice")
	}
	f.end(1, false)
	if !f.begin(1) {
		t.Fatal("a sequence handed back (nak) may run again")
	}
	f.end(1, true)
	if f.begin(1) {
		t.Fatal("an acknowledged sequence must not run again")
	}
	for i := uint64(2); i < 2+uint64(len(f.ring)); i++ {
		f.begin(i)
		f.end(i, true)
	}
	if !f.begin(1) || len(f.done) != len(f.ring) {
		t.Fatalf("the oldest done sequence must be forgotten: %d remembered", len(f.done))
	}
}
