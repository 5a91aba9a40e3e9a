package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/daemon"
)

func newServeCmd() *cobra.Command {
	cfg := daemon.Default()
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the fjord platform: gateway, runtime, registry and state in one process",
		Long: `Run the fjord daemon.

It serves on one port (default :8080):
  /function/NAME        call a function (open, like OpenFaaS)
  /async-function/NAME  queue a call: 202 at once, the result goes to X-Callback-Url (open)
  /system/...           the OpenFaaS management API (basic auth)
  /v2/...               the embedded OCI registry (pushes need the admin login)
  /metrics, /healthz    Prometheus metrics and health (open)

Functions run as local processes, each replica behind its own watchdog. As root they
are sandboxed (namespaces, read-only root, private /tmp) with CPU and memory limits
from cgroups; otherwise fjord warns and runs them unsandboxed.

Async calls are stored in an embedded NATS JetStream server under <state-dir>/queue
(no port is opened), or in an external NATS cluster with --nats-url. An accepted call
survives a crash of the daemon; failed calls are retried with back-off per the function's
com.openfaas.retry.* annotations, then kept as dead letters (GET /system/async/dead-letters).

On first start an admin password is generated into <state-dir>/secrets/basic-auth-password.
State (functions, secrets, namespaces, images) lives in --state-dir and survives restarts.`,
		Example: `  # run with the example function "hello" deployed
  sudo fjord serve --example
  curl -d 'world' http://127.0.0.1:8080/function/hello

  # queue a call; the result is POSTed to the callback URL
  curl -d 'world' -H 'X-Callback-Url: http://127.0.0.1:9000/done' http://127.0.0.1:8080/async-function/hello

  # a throw-away instance on another port, no auth (development only)
  fjord serve --listen 127.0.0.1:9090 --state-dir /tmp/fjord --auth=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			return serve(cmd.Context(), cfg, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "gateway address `host:port`")
	f.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "directory for state, credentials, images and logs")
	f.BoolVar(&cfg.Auth, "auth", cfg.Auth, "require basic auth on /system/* (--auth=false leaves the API open: development only)")
	f.BoolVar(&cfg.Example, "example", false, `deploy the example function "hello" (python3) if it is not deployed yet`)
	f.StringVar(&cfg.Sandbox, "sandbox", cfg.Sandbox, "replica sandbox: auto (when root), on (required) or off")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long to drain in-flight calls on SIGTERM")
	f.StringVar(&cfg.NATSURL, "nats-url", "", "use the NATS server at `url` (with JetStream) for async calls, e.g. nats://127.0.0.1:4222 (default: an embedded server, no port opened)")
	f.IntVar(&cfg.AsyncConcurrency, "async-concurrency", cfg.AsyncConcurrency, "async calls run at once by this daemon (OpenFaaS CE runs 1)")
	f.Int64Var(&cfg.AsyncMaxBody, "async-max-body", cfg.AsyncMaxBody, "largest async request body in `bytes`; bigger calls get 413 (OpenFaaS CE: 256000)")
	f.BoolVar(&cfg.AsyncSyncAlways, "async-sync-always", false, "fsync the embedded queue on every accepted call: survives a power loss too, costs a disk flush per call (default: fsync every second)")
	f.DurationVar(&cfg.SpinWait, "spin-wait", cfg.SpinWait, "while CPUs are idle, poll up to this long for a fast function's answer instead of sleeping (e.g. 150us): on hosts whose idle CPUs wake slowly less latency per call for some CPU, on others slower; benchmark before turning it on; 0 (default) sleeps")
	f.StringVar(&cfg.DebugListen, "debug-listen", "", "serve Go pprof profiles at `host:port`/debug/pprof/ (no auth: keep it on loopback)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func serve(ctx context.Context, cfg daemon.Config, cmd *cobra.Command) error {
	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := d.Start(ctx); err != nil {
		return err
	}
	out := cmd.ErrOrStderr()
	caps := d.Capabilities()
	fmt.Fprintf(out, "fjord is serving on %s (runtime process, isolation %s, limits enforced %t) in %s\n",
		d.Addr(), caps.Isolation, caps.LimitsEnforced, time.Since(start).Round(time.Millisecond))
	if !caps.LimitsEnforced && caps.LimitsReason != "" {
		fmt.Fprintf(out, "WARNING: CPU and memory limits are NOT enforced: %s\n", caps.LimitsReason)
	}
	if cfg.Auth {
		user, _, path := d.Credentials()
		fmt.Fprintf(out, "Log in with:\n  fjord login --gateway http://%s -u %s --password-stdin < %s\n", displayAddr(d.Addr()), user, path)
	} else {
		fmt.Fprintln(out, "WARNING: --auth=false: the management API /system/* is open to anyone who can reach it")
	}
	if cfg.Example {
		fmt.Fprintf(out, "Call the example:\n  curl -d 'world' http://%s/function/hello\n", displayAddr(d.Addr()))
	}
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down: draining calls and stopping replicas")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return d.Close(sctx)
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		return "127.0.0.1" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", format)
}
