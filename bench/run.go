package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// results is everything one run measured.
type results struct {
	started                  time.Time
	loadStart                string // /proc/loadavg: the machine is shared
	binSize                  int64
	startup                  time.Duration
	rssIdle, rssIdleDeployed int // kB
	invoke                   []invokeRow
	cold                     []coldResult
	density                  densityResult
	async                    asyncResult
}

// run starts the daemon, measures, stops everything it started and reports.
func run(ctx context.Context, o options, log *slog.Logger) error {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return fmt.Errorf("resolve binary: %w", err)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("fjord binary (build it with `make build` or set FJORD_BIN): %w", err)
	}
	o.bin = bin
	tmp, err := os.MkdirTemp("", "fjord-bench-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	if o.keepState {
		log.Info("keeping state", "dir", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	res := &results{started: time.Now().UTC(), binSize: fi.Size(), loadStart: loadAvg()}
	if err := measure(ctx, o, log, tmp, res); err != nil {
		return err
	}
	md := report(o, res)
	fmt.Print(md)
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	log.Info("report written", "path", o.out)
	return nil
}

func measure(ctx context.Context, o options, log *slog.Logger, tmp string, res *results) error {
	log.Info("starting fjord serve", "bin", o.bin)
	d, err := startDaemon(ctx, o.bin, filepath.Join(tmp, "state"), o.daemonEnv, o.daemonArg)
	if err != nil {
		return err
	}
	defer d.stop()
	res.startup = d.startup
	if res.rssIdle, err = idleRSS(ctx, d); err != nil {
		return err
	}
	fnDir := filepath.Join(tmp, "functions")
	if err := os.MkdirAll(fnDir, 0o755); err != nil {
		return fmt.Errorf("create function dir: %w", err)
	}
	log.Info("building and deploying functions", "templates", len(warmFns))
	if err := deployWarm(ctx, d, fnDir); err != nil {
		return fmt.Errorf("%w\ndaemon output:\n%s", err, tail(d.output(), 40))
	}
	if res.rssIdleDeployed, err = idleRSS(ctx, d); err != nil {
		return err
	}
	if o.hold {
		log.Info("holding; Ctrl-C to stop", "gateway", d.url("/function/bench-go"), "pid", d.cmd.Process.Pid, "functions", fnDir)
		<-ctx.Done()
		return ctx.Err()
	}
	if err := measureInvoke(ctx, o, log, d, tmp, fnDir, res); err != nil {
		return err
	}
	if o.invoke {
		res.async.skipped = "not measured (-invoke-only)"
		return nil
	}
	for _, lang := range o.langs {
		log.Info("cold starts", "template", lang, "runs", o.coldRuns)
		c, err := runCold(ctx, d, lang, o.coldRuns)
		if err != nil {
			return err
		}
		res.cold = append(res.cold, c)
	}
	st, err := d.status(ctx, "bench-go")
	if err != nil {
		return err
	}
	log.Info("density", "functions", o.density)
	if res.density, err = runDensity(ctx, d, o.density, st.Image); err != nil {
		return err
	}
	// Last: a burst of queued calls leaves the daemon's heap larger (up to its
	// soft memory limit), which would blur the density cell's memory figures.
	log.Info("async calls", "function", "bench-go")
	res.async, err = runAsync(ctx, d, "bench-go", 50, o.cell)
	return err
}

// measureInvoke runs the gateway-vs-direct cells for the go (http mode) and
// bash (classic) templates. For go two more paths in front of the same image
// split the gateway's cost: an unsandboxed `fjord watchdog` (a real HTTP proxy
// hop) and the bare relay (the smallest one-hop forwarder), once over TCP to
// the direct handler and once over a Unix socket, the gateway's own transport.
func measureInvoke(ctx context.Context, o options, log *slog.Logger, d *daemon, tmp, fnDir string, res *results) error {
	cases := []struct {
		name, tmpl, direct, kind string
		more                     bool // via watchdog and relay
	}{
		{"bench-go", "go (http mode)", "handler binary, PORT", "handler", true},
		{"bench-bash", "bash (classic)", "fjord watchdog, fprocess", "watchdog", false},
	}
	for _, c := range cases {
		root := filepath.Join(tmp, "direct-"+c.name)
		layoutDir := filepath.Join(fnDir, "build", c.name)
		paths := []invokePath{{kind: "gateway", url: d.url("/function/" + c.name), hop: d.cmd.Process.Pid}}
		srv, err := startDirect(ctx, o.bin, layoutDir, root, c.kind)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.name, c.kind, err)
		}
		defer srv.stop()
		paths = append(paths, invokePath{kind: "direct", url: srv.url, fn: srv.cmd.Process.Pid})
		if c.more {
			via, err := startDirect(ctx, o.bin, layoutDir, root, "watchdog")
			if err != nil {
				return fmt.Errorf("%s watchdog: %w", c.name, err)
			}
			defer via.stop()
			paths = append(paths, invokePath{kind: "via", url: via.url, hop: via.cmd.Process.Pid})
			rl, err := startRelay(ctx, srv.addr, o.relay)
			if err != nil {
				return fmt.Errorf("%s relay: %w", c.name, err)
			}
			defer rl.stop()
			paths = append(paths, invokePath{kind: "relay", url: rl.url, hop: rl.pid, fn: srv.cmd.Process.Pid})
			// The same relay with the gateway's transports: TCP from the
			// client, an abstract Unix socket to a second copy of the handler.
			sock, err := startDirect(ctx, o.bin, layoutDir, root, "handler-socket")
			if err != nil {
				return fmt.Errorf("%s handler on a socket: %w", c.name, err)
			}
			defer sock.stop()
			rlu, err := startRelay(ctx, sock.addr, o.relay)
			if err != nil {
				return fmt.Errorf("%s relay to a socket: %w", c.name, err)
			}
			defer rlu.stop()
			paths = append(paths, invokePath{kind: "relay-unix", url: rlu.url, hop: rlu.pid, fn: sock.cmd.Process.Pid})
		}
		log.Info("invoke load", "function", c.name, "cell", o.cell)
		rows, err := runInvoke(ctx, d, o, c.tmpl, c.direct, paths)
		if err != nil {
			return err
		}
		res.invoke = append(res.invoke, rows...)
	}
	return nil
}

// idleRSS lets the daemon settle for a second and reads its VmRSS.
func idleRSS(ctx context.Context, d *daemon) (int, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(time.Second):
	}
	kb, err := d.rssKB()
	if err != nil {
		return 0, errors.Join(err, fmt.Errorf("daemon output:\n%s", tail(d.output(), 20)))
	}
	return kb, nil
}

func tail(s string, lines int) string {
	n := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			if n++; n > lines {
				return s[i+1:]
			}
		}
	}
	return s
}
