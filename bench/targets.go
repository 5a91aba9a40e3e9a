package main

import (
	"fmt"
	"strings"
	"time"
)

// target is one goal of the project checked against this run's figures.
type target struct {
	goal, measured string
	met            bool
}

// limit is the relay with the gateway's transports (TCP → Unix) when it ran,
// else the TCP one; nil when neither did.
func (row invokeRow) limit() *loadResult {
	if row.relayUnix != nil {
		return row.relayUnix
	}
	return row.relay
}

func (row invokeRow) limitName() string {
	if row.relayUnix != nil {
		return "TCP → Unix"
	}
	return "TCP → TCP"
}

// targets compares the run with the project's performance goals.
func targets(r *results) []target {
	var ts []target
	for _, row := range r.invoke {
		q := ratio(row.gw.rps, row.dir.rps)
		measured := fmt.Sprintf("%.2f×", q)
		if rl := row.limit(); rl != nil {
			measured += fmt.Sprintf(" (bare relay %s: %.2f×; gateway / relay %.2f×)", row.limitName(),
				ratio(rl.rps, row.dir.rps), ratio(row.gw.rps, rl.rps))
		}
		ts = append(ts, target{fmt.Sprintf("%s, %d conn(s): gateway throughput ≥ 0.5× direct", row.template, row.conns),
			measured, q >= 0.5})
		if row.conns == 1 {
			added := row.gw.p50 - row.dir.p50
			measured := ms(added)
			if rl := row.limit(); rl != nil {
				measured += fmt.Sprintf(" (bare relay %s adds %s)", row.limitName(), ms(rl.p50-row.dir.p50))
			}
			ts = append(ts, target{fmt.Sprintf("%s, 1 conn: added p50 ≤ 0.1 ms", row.template),
				measured, added <= 100*time.Microsecond})
		}
	}
	limits := map[string]time.Duration{"go": 10 * time.Millisecond, "python3": 50 * time.Millisecond}
	for _, c := range r.cold {
		p50, p99 := c.quantile(.5), c.quantile(.99)
		if lim, ok := limits[c.template]; ok {
			ts = append(ts, target{fmt.Sprintf("cold start %s: p50 ≤ %s", c.template, ms(lim)), ms(p50), p50 <= lim})
		}
		q := ratio(float64(p99), float64(p50))
		ts = append(ts, target{fmt.Sprintf("cold start %s: p99 ≤ 3× p50", c.template),
			fmt.Sprintf("%.1f× (%s)", q, ms(p99)), q <= 3 && c.failures == 0})
	}
	ts = append(ts, target{"daemon idle RSS ≤ 40 MB", mb(r.rssIdle), r.rssIdle <= 40*1024})
	return ts
}

func targetsSection(b *strings.Builder, r *results) {
	fmt.Fprintf(b, "\n## Targets\n\n| target | measured | |\n|---|---:|---|\n")
	met := 0
	ts := targets(r)
	for _, t := range ts {
		verdict := "**not met**"
		if t.met {
			verdict, met = "met", met+1
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.goal, t.measured, verdict)
	}
	fmt.Fprintf(b, "\n%d of %d targets met.\n", met, len(ts))
}
