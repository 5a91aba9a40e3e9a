package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report renders the results as the Markdown of docs/benchmarks.md.
func report(o options, r *results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# fjord benchmarks\n\n")
	p("Written by `go run ./bench%s` (`make bench%s`); do not edit by hand.\n\n", pick(o.smoke, " -smoke", ""), pick(o.smoke, "-smoke", ""))
	p("%s", machine(r.started, r.loadStart))
	p("\n## Commands\n\n```sh\n%s\n```\n\n", commandLine(o))
	p("The bench starts `fjord serve --listen 127.0.0.1:<free port> --state-dir <temp>` (as %s), deploys its\n", whoami())
	p("functions with `fjord new` + `fjord up`, drives load with vegeta v12 (in-process, unthrottled,\n")
	p("N workers = N keep-alive connections, %s per cell; latencies are vegeta's t-digest quantiles)\n", o.cell)
	p("Each invoke cell is split into %d rounds of %s, the paths (gateway, direct, …) taking turns round by round,\n", o.rounds, o.cell/time.Duration(o.rounds))
	p("so that a drift in the machine's speed during the run touches every path alike; rates and quantiles pool the rounds.\n")
	p("and stops the daemon by PID at the end. Load generator, daemon and functions share the same cores.\n")
	if strings.Contains(strings.Join(o.daemonArg, " "), "spin-wait") {
		p("The daemon runs with its defaults%s.\n", daemonArgs(o))
	} else {
		p("The daemon runs with its defaults%s (`--spin-wait 0` among them: a call sleeps until its answer comes;\n", daemonArgs(o))
		p("see docs/performance.md for when polling instead pays).\n")
	}
	invokeSection(&b, r, o)
	coldSection(&b, r, o)
	footprintSection(&b, r)
	densitySection(&b, r)
	asyncSection(&b, r)
	targetsSection(&b, r)
	return b.String()
}

func invokeSection(b *strings.Builder, r *results, o options) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n## Invoke path: gateway vs direct\n\n")
	p("Gateway = `GET /function/NAME` on the daemon: gateway → router → the sandboxed replica. For go (http mode)\n")
	p("the router calls the function's server directly on its abstract Unix socket (the watchdog only supervises);\n")
	p("for bash (classic) the call goes through the replica's watchdog, also on a Unix socket, which forks the handler.\n")
	p("Direct = the same image unpacked and run outside fjord: for go the compiled handler binary with `PORT`\n")
	p("(no watchdog); for bash `fjord watchdog` with the image's `fprocess` (classic: one fork per request).\n")
	p("For go, \"via watchdog\" is the same image behind an unsandboxed `fjord watchdog` (http mode): one proxy hop\n")
	p("in front of the handler, for comparison with the gateway's one hop.\n\n")
	p("| template | conns | gateway req/s | direct req/s | ratio | gateway p50 | direct p50 | added p50 | gateway p99 | direct p99 | via watchdog req/s | via watchdog p50 | gateway ok |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.invoke {
		viaRPS, viaP50 := "–", "–"
		if row.via != nil {
			viaRPS, viaP50 = fmt.Sprintf("%.0f", row.via.rps), ms(row.via.p50)
		}
		p("| %s | %d | %.0f | %.0f | %.2f× | %s | %s | %s | %s | %s | %s | %s | %.1f%% |\n",
			row.template, row.conns, row.gw.rps, row.dir.rps, ratio(row.gw.rps, row.dir.rps),
			ms(row.gw.p50), ms(row.dir.p50), ms(row.gw.p50-row.dir.p50), ms(row.gw.p99), ms(row.dir.p99),
			viaRPS, viaP50, 100*row.gw.success)
	}
	relaySection(b, r, o)
	cpuSection(b, r)
}

// relaySection compares the gateway with the bare relay: the cost of one
// hop and nothing else, measured in the same run, over TCP and over the
// gateway's own transport to the function (a Unix socket).
func relaySection(b *strings.Builder, r *results, o options) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n### The one-hop limit\n\n")
	p("Bare relay = the smallest possible one-hop forwarder in front of the same handler: a byte relay with no\n")
	p("HTTP parsing, one goroutine and one upstream connection per client connection, moving bytes in lock step\n")
	p("(one read from the client written upstream, then one read from upstream written back). It does less than\n")
	p("any HTTP proxy can (no parsing, routing, headers, auth, timeouts). It takes calls over TCP like the gateway\n")
	p("and runs twice: TCP → TCP, to the direct handler on its port, is the cost of one extra loopback TCP hop;\n")
	p("TCP → Unix, to a second copy of the handler listening on an abstract Unix socket as fjord's watchdog starts\n")
	p("it, has the gateway's own transports, so no gateway with one hop over them can beat it on this machine:\n")
	p("\"gateway / relay\" against that row says how close fjord is to its limit.\n%s\n\n", relayWhere(o.relay))
	p("| template | conns | relay | relay req/s | relay / direct | gateway / relay | relay p50 | relay added p50 | gateway added p50 | relay ok |\n")
	p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.invoke {
		for _, rr := range []struct {
			name string
			rl   *loadResult
		}{{"TCP → TCP", row.relay}, {"TCP → Unix", row.relayUnix}} {
			if rr.rl == nil {
				continue
			}
			rl := rr.rl
			p("| %s | %d | %s | %.0f | %.2f× | %.2f× | %s | %s | %s | %.1f%% |\n", row.template, row.conns, rr.name, rl.rps,
				ratio(rl.rps, row.dir.rps), ratio(row.gw.rps, rl.rps), ms(rl.p50), ms(rl.p50-row.dir.p50),
				ms(row.gw.p50-row.dir.p50), 100*rl.success)
		}
	}
}

func relayWhere(mode string) string {
	if mode == "inproc" {
		return "In this run (`-relay inproc`) the relay ran as goroutines inside the bench process: a call and its\n" +
			"relay hop are handed between goroutines of one Go runtime without waking another process, which flatters\n" +
			"the relay, and its CPU cannot be told apart from vegeta's, so it is not reported."
	}
	return "The relay runs as its own process (the bench binary re-executed with a hidden argument), like the daemon.\n" +
		"Run inside the bench process (`-relay inproc`) it measured faster, because the hop between vegeta and the\n" +
		"relay then wakes no other process, which no gateway gets; its CPU could not be measured either.\n" +
		"All ratios to direct depend on the load generator: the more a call costs the client, the smaller the share\n" +
		"of one hop. vegeta runs in the bench process and costs more per call than a C client such as wrk, against\n" +
		"which the same relay's ratio is lower."
}

// cpuSection prints the CPU each process spent per call, from utime+stime
// in /proc/PID/stat before and after each cell.
func cpuSection(b *strings.Builder, r *results) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("\n### CPU per call\n\n")
	p("CPU time (utime + stime from `/proc/PID/stat`, %s ticks) each process used during the cell, divided by the\n", clockTick)
	p("cell's calls. Function = the process that answers the call: the go handler, or for bash the watchdog together\n")
	p("with the handlers it forked and waited for (cutime + cstime). In the gateway cell it is found as the daemon's\n")
	p("descendant listening on a port the daemon is connected to or on one of fjord's `@fjord-…` Unix sockets (the one\n")
	p("that used the most CPU); in the via-watchdog cell likewise among the watchdog's children. – = not found or\n")
	p("not measurable. The load generator's own CPU\n")
	p("(the bench process) is not counted anywhere.\n\n")
	p("| template | conns | gateway: daemon | gateway: function | direct: function | via watchdog: watchdog | via watchdog: handler | relay TCP: relay | relay TCP: handler | relay Unix: relay | relay Unix: handler |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	cpu := func(r *loadResult) (string, string) {
		if r == nil {
			return "–", "–"
		}
		return r.hopCPU.String(), r.fnCPU.String()
	}
	for _, row := range r.invoke {
		via, viaFn := cpu(row.via)
		rl, rlFn := cpu(row.relay)
		rlu, rluFn := cpu(row.relayUnix)
		p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.template, row.conns, row.gw.hopCPU, row.gw.fnCPU,
			row.dir.fnCPU, via, viaFn, rl, rlFn, rlu, rluFn)
	}
}

func coldSection(b *strings.Builder, r *results, o options) {
	fmt.Fprintf(b, "\n## Cold start (scale from zero)\n\n")
	fmt.Fprintf(b, "A function deployed with `com.openfaas.scale.min: \"0\"` (image of the warm one); each sample is one\n")
	fmt.Fprintf(b, "`GET /function/NAME` on a new connection, from send to the end of the 200, then scale to 0 and wait until the replica has stopped. %d starts per template.\n\n", o.coldRuns)
	fmt.Fprintf(b, "| template | starts | failed | p50 | p99 | max | p99/p50 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.cold {
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %.1f |\n", c.template, len(c.samples), c.failures,
			ms(c.quantile(.5)), ms(c.quantile(.99)), ms(c.quantile(1)), ratio(float64(c.quantile(.99)), float64(c.quantile(.5))))
	}
}

func footprintSection(b *strings.Builder, r *results) {
	peak := 0
	for _, row := range r.invoke {
		peak = max(peak, row.gw.peakRSS)
	}
	fmt.Fprintf(b, "\n## Footprint\n\n| measure | value |\n|---|---:|\n")
	fmt.Fprintf(b, "| binary size (bin/fjord) | %.1f MB |\n", float64(r.binSize)/(1<<20))
	fmt.Fprintf(b, "| `fjord serve` exec → first 200 from /healthz (fresh state dir) | %s |\n", ms(r.startup))
	fmt.Fprintf(b, "| daemon VmRSS idle, no functions | %s |\n", mb(r.rssIdle))
	fmt.Fprintf(b, "| daemon VmRSS idle, %d functions deployed | %s |\n", len(warmFns), mb(r.rssIdleDeployed))
	fmt.Fprintf(b, "| daemon VmRSS peak under gateway load | %s |\n", mb(peak))
}

func densitySection(b *strings.Builder, r *results) {
	d := r.density
	fmt.Fprintf(b, "\n## Density\n\n%d functions deployed at zero replicas from one pushed image, one `POST /system/functions` at a time.\n\n", d.n)
	fmt.Fprintf(b, "| measure | value |\n|---|---:|\n")
	fmt.Fprintf(b, "| deploy %d | %s (%s each) |\n", d.n, ms(d.deploy), ms(d.deploy/time.Duration(max(d.n, 1))))
	fmt.Fprintf(b, "| `GET /system/functions` (%d listed) | %s |\n", d.listed, ms(d.list))
	fmt.Fprintf(b, "| remove %d | %s |\n", d.n, ms(d.del))
	fmt.Fprintf(b, "| daemon VmRSS before → after deploy | %s → %s |\n", mb(d.rssBefore), mb(d.rssAfter))
}

func machine(t time.Time, loadStart string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n", t.Format(time.RFC3339))
	fmt.Fprintf(&b, "| commit | %s |\n", gitCommit())
	fmt.Fprintf(&b, "| CPU | %s, %d cores |\n", cpuModel(), runtime.NumCPU())
	fmt.Fprintf(&b, "| memory | %s |\n", memTotal())
	fmt.Fprintf(&b, "| kernel | %s |\n", readTrim("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(&b, "| Go | %s %s/%s |\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "| load average at start / end | %s / %s |\n", loadStart, loadAvg())
	return b.String()
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " (working tree modified)"
	}
	return c
}

func cpuModel() string { return procField("/proc/cpuinfo", "model name") }

func procField(path, key string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == strings.TrimSuffix(key, ":") {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func whoami() string {
	if os.Geteuid() == 0 {
		return "root: functions sandboxed"
	}
	return "non-root: no sandbox"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
func mb(kb int) string          { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// daemonArgs names the extra fjord serve arguments of the run, if any.
func daemonArgs(o options) string {
	if len(o.daemonArg) == 0 {
		return ""
	}
	return " but `" + strings.Join(o.daemonArg, " ") + "`"
}

// commandLine is what reproduces this run: the Makefile's build, then the bench.
func commandLine(o options) string {
	build := "make build   # CGO_ENABLED=0 go build -trimpath -ldflags '-s -w -X …/version.Release=…' -o bin/fjord ./cmd/fjord"
	run := strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " "))
	if len(o.daemonEnv) > 0 {
		run += "   # fjord serve ran with " + strings.Join(o.daemonEnv, " ")
	}
	if v := os.Getenv("FJORD_BIN"); v != "" {
		build = "CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o " + v + " ./cmd/fjord"
		run = "FJORD_BIN=" + v + " " + run
	}
	return build + "\n" + run
}

func memTotal() string {
	var kb int
	if _, err := fmt.Sscanf(procField("/proc/meminfo", "MemTotal:"), "%d kB", &kb); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	return strings.Join(f[:min(3, len(f))], " ")
}
