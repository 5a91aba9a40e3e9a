package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadResult is one cell of the invoke table: a target under a fixed
// number of keep-alive connections for a fixed duration, as fast as it answers.
type loadResult struct {
	conns    int
	requests uint64
	rps      float64 // successful responses per second
	success  float64 // ratio of 2xx
	p50, p99 time.Duration
	peakRSS  int // daemon VmRSS kB sampled during the cell (gateway cells only)
}

// attack runs vegeta against url with conns workers and connections,
// unthrottled (rate 0), for du. Latencies are vegeta's t-digest quantiles.
func attack(ctx context.Context, url string, conns int, du time.Duration, sample func()) (loadResult, error) {
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.MaxConnections(conns),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.Redirects(vegeta.NoFollow),
	)
	var m vegeta.Metrics
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	res := a.Attack(tgt, vegeta.Rate{Freq: 0}, du, url)
	for done := false; !done; {
		select {
		case r, ok := <-res:
			if !ok {
				done = true
				break
			}
			m.Add(r)
		case <-tick.C:
			if sample != nil {
				sample()
			}
		case <-ctx.Done():
			a.Stop()
		}
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	if m.Requests == 0 {
		return loadResult{}, fmt.Errorf("attack %s: no requests completed", url)
	}
	return loadResult{conns: conns, requests: m.Requests, rps: m.Throughput, success: m.Success,
		p50: m.Latencies.P50, p99: m.Latencies.P99}, nil
}

// invokeRow holds the cells of one template and connection count: through
// the gateway, direct, and (go only) through an unsandboxed watchdog.
type invokeRow struct {
	template, direct string
	conns            int
	gw, dir          loadResult
	via              *loadResult
}

// runInvoke measures one template at each connection count: urls are the
// gateway, the direct server and optionally the unsandboxed watchdog.
func runInvoke(ctx context.Context, d *daemon, o options, tmpl, directKind string, urls []string) ([]invokeRow, error) {
	var rows []invokeRow
	// Warm every path (connections, the runtimes, page cache) before measuring.
	for _, u := range urls {
		if _, err := attack(ctx, u, 4, 300*time.Millisecond, nil); err != nil {
			return nil, err
		}
	}
	for _, c := range o.conns {
		peak := 0
		sample := func() {
			if kb, err := d.rssKB(); err == nil && kb > peak {
				peak = kb
			}
		}
		row := invokeRow{template: tmpl, direct: directKind, conns: c}
		for i, u := range urls {
			s := sample
			if i > 0 {
				s = nil
			}
			r, err := attack(ctx, u, c, o.cell, s)
			if err != nil {
				return nil, err
			}
			switch i {
			case 0:
				r.peakRSS = peak
				row.gw = r
			case 1:
				row.dir = r
			default:
				row.via = &r
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
