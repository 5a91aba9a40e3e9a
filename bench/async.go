package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// asyncResult is the async cell: calls queued as fast as the daemon accepts
// them for one cell, then the time until every accepted call's callback came.
type asyncResult struct {
	skipped    string // why there is no figure (async not enabled)
	conns      int
	accepted   uint64        // 202 answers
	offered    uint64        // requests sent
	acceptDur  time.Duration // the attack
	acceptP50  time.Duration // enqueue latency
	acceptP99  time.Duration
	completed  int           // callbacks received
	ok         int           // callbacks with X-Function-Status 200
	drain      time.Duration // first accept → last callback
	endToEnd50 time.Duration // X-Start-Time → callback received
	endToEnd99 time.Duration
	rssAfter   int // daemon VmRSS kB once every callback arrived
}

// callbackSink counts the callbacks of async calls.
type callbackSink struct {
	mu        sync.Mutex
	n, ok     int
	last      time.Time
	latencies []time.Duration
	notify    chan struct{}
}

func (s *callbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	now := time.Now()
	s.mu.Lock()
	s.n++
	if r.Header.Get("X-Function-Status") == "200" {
		s.ok++
	}
	s.last = now
	if st, err := strconv.ParseInt(r.Header.Get("X-Start-Time"), 10, 64); err == nil && st > 0 {
		s.latencies = append(s.latencies, now.Sub(time.Unix(0, st)))
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *callbackSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// runAsync queues calls to fn with a callback to a local sink and waits for
// all of them to complete.
func runAsync(ctx context.Context, d *daemon, fn string, conns int, du time.Duration) (asyncResult, error) {
	res := asyncResult{conns: conns}
	probe, err := http.Post(d.url("/async-function/"+fn), "text/plain", strings.NewReader("probe"))
	if err != nil {
		return res, err
	}
	probe.Body.Close()
	if probe.StatusCode == http.StatusNotImplemented {
		res.skipped = "async calls are not enabled in this build (501)"
		return res, nil
	}
	if probe.StatusCode != http.StatusAccepted {
		return res, fmt.Errorf("async probe: %s", probe.Status)
	}
	sink := &callbackSink{notify: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: sink}
	go srv.Serve(ln)
	defer srv.Close()
	// The probe had no callback; give it a moment so it does not overlap the cell.
	time.Sleep(200 * time.Millisecond)

	tgt := vegeta.NewStaticTargeter(vegeta.Target{
		Method: http.MethodPost, URL: d.url("/async-function/" + fn), Body: []byte("async"),
		Header: http.Header{"X-Callback-Url": {"http://" + ln.Addr().String() + "/done"}, "Content-Type": {"text/plain"}},
	})
	a := vegeta.NewAttacker(vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.MaxConnections(conns), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	var m vegeta.Metrics
	start := time.Now()
	for r := range a.Attack(tgt, vegeta.Rate{Freq: 0}, du, "async") {
		m.Add(r)
		if r.Code == http.StatusAccepted {
			res.accepted++
		}
		if ctx.Err() != nil {
			a.Stop()
		}
	}
	m.Close()
	res.acceptDur = time.Since(start)
	res.offered = m.Requests
	res.acceptP50, res.acceptP99 = m.Latencies.P50, m.Latencies.P99
	if err := ctx.Err(); err != nil {
		return res, err
	}
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for sink.count() < int(res.accepted) {
		select {
		case <-sink.notify:
		case <-time.After(time.Second):
		case <-deadline.C:
			return res, fmt.Errorf("async: %d of %d callbacks after 2 minutes", sink.count(), res.accepted)
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	res.completed, res.ok = sink.n, sink.ok
	res.drain = sink.last.Sub(start)
	if len(sink.latencies) > 0 {
		sort.Slice(sink.latencies, func(i, j int) bool { return sink.latencies[i] < sink.latencies[j] })
		res.endToEnd50 = sink.latencies[len(sink.latencies)/2]
		res.endToEnd99 = sink.latencies[min(len(sink.latencies)-1, len(sink.latencies)*99/100)]
	}
	if res.completed == 0 {
		return res, errors.New("async: no callbacks")
	}
	res.rssAfter, _ = d.rssKB()
	return res, nil
}

func asyncSection(b *strings.Builder, r *results) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n## Async\n\n")
	a := r.async
	if a.skipped != "" {
		p("n/a: %s\n", a.skipped)
		return
	}
	p("`POST /async-function/bench-go` with an `X-Callback-Url` to a receiver in the bench process, %d connections,\n", a.conns)
	p("unthrottled for %s; then the time until the callback of every accepted call has arrived. \"Completed\"\n", a.acceptDur.Round(time.Millisecond))
	p("counts callbacks from the first call sent to the last callback received (the queue drains while calls\n")
	p("are still being accepted). End to end = the call's X-Start-Time to its callback.\n\n")
	p("| measure | value |\n|---|---:|\n")
	p("| accepted (202) | %d of %d sent |\n", a.accepted, a.offered)
	p("| accepted calls/s | %.0f |\n", float64(a.accepted)/a.acceptDur.Seconds())
	p("| enqueue p50 / p99 | %s / %s |\n", ms(a.acceptP50), ms(a.acceptP99))
	p("| completed calls/s | %.0f (%d callbacks in %s, %d with status 200) |\n",
		float64(a.completed)/a.drain.Seconds(), a.completed, a.drain.Round(time.Millisecond), a.ok)
	p("| end to end p50 / p99 | %s / %s |\n", ms(a.endToEnd50), ms(a.endToEnd99))
	p("| daemon VmRSS after the burst (soft memory limit 128 MiB) | %s |\n", mb(a.rssAfter))
}
