// Command bench measures a real fjord daemon: the invoke path through the
// gateway against the same function called directly, cold starts from zero,
// the daemon's footprint and deployment density. It prints a table and
// writes docs/benchmarks.md.
//
//	go run ./bench          # full run (make bench)
//	go run ./bench -smoke   # ~20 s version (make bench-smoke)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command-line settings of one run.
type options struct {
	smoke     bool
	bin       string
	out       string
	cell      time.Duration
	conns     []int
	rounds    int
	coldRuns  int
	density   int
	langs     []string
	keepState bool
	hold      bool
	invoke    bool
	daemonEnv []string
	daemonArg []string
	relay     string
}

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o := options{conns: []int{1, 50}, langs: []string{"go", "python3", "node"}}
	fs.BoolVar(&o.smoke, "smoke", false, "short run (~20 s): 1 s cells, 5 cold starts, 50 functions")
	fs.StringVar(&o.bin, "bin", envOr("FJORD_BIN", "bin/fjord"), "fjord binary to benchmark (env FJORD_BIN)")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "report to write; empty to skip")
	fs.DurationVar(&o.cell, "duration", 0, "load per cell (default 5s, smoke 1s)")
	fs.IntVar(&o.rounds, "rounds", 0, "rounds each cell is split into, the paths taking turns (default 5, smoke 2)")
	fs.IntVar(&o.coldRuns, "cold", 0, "cold starts per template (default 50, smoke 5)")
	fs.IntVar(&o.density, "functions", 0, "functions deployed for density (default 500, smoke 50)")
	fs.BoolVar(&o.keepState, "keep", false, "keep the temporary state dir")
	fs.BoolVar(&o.invoke, "invoke-only", false, "measure the invoke path only (no cold starts, no density); writes no report")
	fs.BoolVar(&o.hold, "hold", false, "deploy the functions, print the daemon's address and PID, wait for Ctrl-C (for profiling)")
	fs.StringVar(&o.relay, "relay", "process", "where the bare relay runs: process (the bench re-executed) or inproc (goroutines of the bench)")
	fs.Func("daemon-env", "KEY=VALUE added to fjord serve's environment (repeatable), e.g. GOGC=200", func(v string) error {
		o.daemonEnv = append(o.daemonEnv, v)
		return nil
	})
	fs.Func("daemon-arg", "extra argument to fjord serve (repeatable), e.g. --debug-listen=127.0.0.1:6060", func(v string) error {
		o.daemonArg = append(o.daemonArg, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.invoke {
		o.out = ""
	}
	def := func(v *int, full, smoke int) {
		if *v == 0 {
			*v = pick(o.smoke, smoke, full)
		}
	}
	def(&o.coldRuns, 50, 5)
	def(&o.density, 500, 50)
	def(&o.rounds, 5, 2)
	if o.cell == 0 {
		o.cell = pick(o.smoke, time.Second, 5*time.Second)
	}
	if o.rounds < 1 || o.cell/time.Duration(o.rounds) < 100*time.Millisecond {
		return o, fmt.Errorf("-rounds %d: want at least 1 and rounds of at least 100ms (-duration %s)", o.rounds, o.cell)
	}
	return o, nil
}

func pick[T any](smoke bool, a, b T) T {
	if smoke {
		return a
	}
	return b
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == relayCmd {
		if err := relayMain(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}
