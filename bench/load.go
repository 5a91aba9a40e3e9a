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

// loadGen makes the vegeta attackers of one path in one cell: N workers on
// N keep-alive connections, which the rounds share (an attacker serves one
// attack; the transport outlives it).
type loadGen struct {
	conns int
	tr    *http.Transport
}

func newLoadGen(conns int) *loadGen { return &loadGen{conns: conns, tr: &http.Transport{}} }

func (lg *loadGen) attacker() *vegeta.Attacker {
	n := lg.conns
	return vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: lg.tr}),
		vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)),
		vegeta.Connections(n), vegeta.MaxConnections(n),
		vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.Redirects(vegeta.NoFollow),
	)
}

// close drops the generator's connections, so that the daemon does not hold
// them open through the sections that follow.
func (lg *loadGen) close() { lg.tr.CloseIdleConnections() }

// attack runs lg against url, unthrottled (rate 0), for du, adding every result to m (latencies are
// vegeta's t-digest quantiles once m is closed). It returns the 2xx answers
// and the wall time from the first request to the last answer.
func attack(ctx context.Context, lg *loadGen, url string, du time.Duration, sample func(), m *vegeta.Metrics) (ok uint64, elapsed time.Duration, err error) {
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
	a := lg.attacker()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	res := a.Attack(tgt, vegeta.Rate{Freq: 0}, du, url)
	n := 0
	for done := false; !done; {
		select {
		case r, more := <-res:
			if !more {
				done = true
				break
			}
			n++
			if r.Code >= 200 && r.Code < 300 {
				ok++
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
	elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("attack %s: no requests completed", url)
	}
	return ok, elapsed, nil
}

// pathCell pools the rounds of one path in one cell.
type pathCell struct {
	m           vegeta.Metrics
	ok          uint64
	elapsed     time.Duration
	hop, fn     uint64 // CPU ticks
	hopOK, fnOK bool   // measured in every round
	rounds      int
}

func (pc *pathCell) add(ok uint64, elapsed time.Duration, t cellTicks) {
	pc.ok += ok
	pc.elapsed += elapsed
	pc.hop += t.hop
	pc.fn += t.fn
	if pc.rounds == 0 {
		pc.hopOK, pc.fnOK = true, true
	}
	pc.hopOK = pc.hopOK && t.hopOK
	pc.fnOK = pc.fnOK && t.fnOK
	pc.rounds++
}

func (pc *pathCell) result(conns int) loadResult {
	pc.m.Close()
	r := loadResult{conns: conns, requests: pc.m.Requests, success: pc.m.Success,
		p50: pc.m.Latencies.P50, p99: pc.m.Latencies.P99}
	if pc.elapsed > 0 {
		r.rps = float64(pc.ok) / pc.elapsed.Seconds()
	}
	if pc.hopOK {
		r.hopCPU = costOf(pc.hop, pc.m.Requests)
	}
	if pc.fnOK {
		r.fnCPU = costOf(pc.fn, pc.m.Requests)
	}
	return r
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
// (the gateway first, then direct, then optionally via watchdog and relays).
// Each cell is split into o.rounds rounds and the paths take turns round by
// round, so that a drift in the machine's speed during the run touches every
// path alike; a path's rate and quantiles pool its rounds.
func runInvoke(ctx context.Context, d *daemon, o options, tmpl, directKind string, paths []invokePath) ([]invokeRow, error) {
	var rows []invokeRow
	// Warm every path (connections, the runtimes, page cache) before measuring.
	for _, p := range paths {
		var m vegeta.Metrics
		lg := newLoadGen(4)
		_, _, err := attack(ctx, lg, p.url, 300*time.Millisecond, nil, &m)
		lg.close()
		if err != nil {
			return nil, err
		}
	}
	round := o.cell / time.Duration(o.rounds)
	for _, c := range o.conns {
		peak := 0
		sample := func() {
			if kb, err := d.rssKB(); err == nil && kb > peak {
				peak = kb
			}
		}
		cells := make([]pathCell, len(paths))
		gens := make([]*loadGen, len(paths))
		for j := range paths {
			gens[j] = newLoadGen(c)
		}
		for i := 0; i < o.rounds; i++ {
			for j, p := range paths {
				s := sample
				if p.kind != "gateway" {
					s = nil
				}
				cpu := startCellCPU(p.hop, p.fn)
				ok, elapsed, err := attack(ctx, gens[j], p.url, round, s, &cells[j].m)
				if err != nil {
					return nil, err
				}
				cells[j].add(ok, elapsed, cpu.finish())
			}
		}
		for _, lg := range gens {
			lg.close()
		}
		row := invokeRow{template: tmpl, direct: directKind, conns: c}
		for j, p := range paths {
			r := cells[j].result(c)
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
