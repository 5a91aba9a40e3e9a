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
	// CPU per call of the process in front of the function (daemon, watchdog,
	// relay) and of the function's own process.
	hopCPU, fnCPU cpuCost
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
// the gateway, direct, and (go only) through an unsandboxed watchdog and
// through the bare relay.
type invokeRow struct {
	template, direct string
	conns            int
	gw, dir          loadResult
	via, relay       *loadResult
	relayUnix        *loadResult // the relay to the handler on a Unix socket
}

// invokePath is one way to call the function: url, and the processes whose
// CPU the cell measures (see cellCPU).
type invokePath struct {
	kind    string // gateway, direct, via, relay, relay-unix
	url     string
	hop, fn int
}

// runInvoke measures one template at each connection count along paths
// (the gateway first, then direct, then optionally via watchdog and relay).
func runInvoke(ctx context.Context, d *daemon, o options, tmpl, directKind string, paths []invokePath) ([]invokeRow, error) {
	var rows []invokeRow
	// Warm every path (connections, the runtimes, page cache) before measuring.
	for _, p := range paths {
		if _, err := attack(ctx, p.url, 4, 300*time.Millisecond, nil); err != nil {
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
		for _, p := range paths {
			s := sample
			if p.kind != "gateway" {
				s = nil
			}
			cpu := startCellCPU(p.hop, p.fn)
			r, err := attack(ctx, p.url, c, o.cell, s)
			if err != nil {
				return nil, err
			}
			r.hopCPU, r.fnCPU = cpu.finish(r.requests)
			switch p.kind {
			case "gateway":
				r.peakRSS = peak
				row.gw = r
			case "direct":
				row.dir = r
			case "via":
				row.via = &r
			case "relay":
				row.relay = &r
			case "relay-unix":
				row.relayUnix = &r
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
