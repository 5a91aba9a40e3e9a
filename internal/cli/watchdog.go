package cli

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/watchdog"
)

const watchdogLong = `Run a function behind the fjord watchdog, the in-replica HTTP server.

With env "mode" unset it is the classic watchdog: fprocess is forked for every
request, the body goes to its stdin and its stdout is the response. mode=http
starts fprocess once and reverse-proxies every request to it (of-watchdog http
mode); mode=streaming and mode=serializing fork per request and stream or buffer;
mode=static serves the files under static_path.

Configuration is read once from the environment:
  fprocess, function_process   command to run, split on spaces, no shell (required)
  mode                         unset (classic), http, streaming, serializing, static
  port                         listen port (8080)
  metrics_port                 Prometheus /metrics port (8081; 0 disables)
  read_timeout, write_timeout  HTTP server timeouts (30s; seconds or Go duration)
  exec_timeout                 per-call limit (classic: 0 = none, 408; other modes: 30s)
  healthcheck_interval         drain delay after SIGTERM (= write_timeout)
  max_inflight                 concurrent calls before 429 (0 = unlimited)
  suppress_lock                do not write $TMPDIR/.lock
  write_debug                  classic: log the output, not only its size
  combine_output               classic: stderr in the response too (true)
  cgi_headers                  classic: request headers as Http_* env vars (true)
  marshal_request              classic: stdin is JSON {"header":…,"body":{"raw":…}}
  debug_headers                classic: log request and response headers
  content_type                 force the response Content-Type
  upstream_url, http_upstream_url  http mode target, e.g. http://127.0.0.1:5000
  http_buffer_req_body, buffer_http  http mode: buffer the body before forwarding
  ready_path                   http mode: forward /_/ready to this path
  prefix_logs                  prefix function output with time and stream (true)
  log_callid                   add X-Call-Id to request log lines
  static_path                  static mode: directory to serve (/home/app/public)
fjord extensions (used by the process runtime):
  fjord_listen_fd=N            serve on the inherited listening socket N
  fjord_ready_fd=N             once ready write a line to fd N and close it: "\n", or in
                               http mode with auto upstream "upstream=127.0.0.1:PORT\n"
                               or "upstream=unix:@NAME\n" (the runtime may then call
                               the function directly)
  fjord_auto_upstream=1        http mode: pick a loopback port, pass it as PORT
  fjord_upstream_socket=true   with fjord_auto_upstream: pick an abstract Unix socket
                               instead and pass it as FJORD_SOCKET=@NAME (for servers
                               that bind it themselves)
  fjord_upstream_socket=inherit  the same, but listen on it here and hand it to the
                               server as fd 3 (FJORD_SOCKET_FD=3): ready as soon as
                               the server runs, calls queue while it starts (fjord's
                               go, python3-http and node templates)

Paths: /_/health (200 OK while the lock exists), /_/ready, everything else is
the function. SIGTERM: unhealthy, lock removed, wait healthcheck_interval, stop.`

func newWatchdogCmd() *cobra.Command {
	var healthcheck bool
	cmd := &cobra.Command{
		Use:   "watchdog",
		Short: "Serve a function over HTTP (classic or of-watchdog modes)",
		Long:  watchdogLong,
		Args:  cobra.NoArgs,
		// main prints errors once; an unhealthy check prints nothing.
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if healthcheck {
				if watchdog.LockExists(watchdog.DefaultLockPath()) {
					return nil
				}
				return ExitError{Code: 1}
			}
			cfg, err := watchdog.ConfigFromEnv(os.Environ())
			if err != nil {
				return err
			}
			w, err := watchdog.New(cfg, slog.Default())
			if err != nil {
				return err
			}
			return w.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&healthcheck, "run-healthcheck", false, "exit 0 if the lock file $TMPDIR/.lock exists, else 1")
	return cmd
}
