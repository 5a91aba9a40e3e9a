// Package watchdog is the in-replica server of a function: the classic watchdog
// (fork per request) and the of-watchdog modes (http, streaming, serializing).
package watchdog

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Mode selects how requests reach the function process.
type Mode string

// The supported modes. Classic is chosen when env `mode` is unset; static
// serves files and needs no fprocess.
const (
	ModeClassic     Mode = "classic"
	ModeHTTP        Mode = "http"
	ModeStreaming   Mode = "streaming"
	ModeSerializing Mode = "serializing"
	ModeStatic      Mode = "static"
)

// Config is the watchdog's configuration, read once at start-up.
type Config struct {
	// Mode is classic, http, streaming, serializing or static.
	Mode Mode
	// Process is the command line of the function (env fprocess / function_process),
	// split on spaces without a shell.
	Process string
	// Env is the environment handed to the function process (plus CGI variables).
	Env []string

	// Port is the TCP port to listen on when neither Listener nor ListenFD is set.
	Port int
	// MetricsPort serves /metrics; 0 disables it.
	MetricsPort int
	// ListenFD, when >= 0, is an inherited listening socket used instead of Port.
	ListenFD int
	// ReadyFD, when >= 0, is an inherited fd that gets "\n" once the watchdog
	// is ready, or "upstream=ADDR\n" (127.0.0.1:PORT or unix:@NAME) when calls may bypass it (http
	// mode with AutoUpstream and no data-path-only option set).
	ReadyFD int
	// Listener, when set (embedding, tests), is used instead of ListenFD and Port.
	Listener net.Listener

	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// ExecTimeout bounds one invocation; 0 means none.
	ExecTimeout time.Duration
	// HealthcheckInterval is the drain delay between going unhealthy and shutting down.
	HealthcheckInterval time.Duration

	WriteDebug     bool   // classic: log the output instead of its size
	CombineOutput  bool   // classic: stderr goes into the response too
	CGIHeaders     bool   // classic: request headers become Http_* env vars
	MarshalRequest bool   // classic: stdin is a JSON document of headers and body
	DebugHeaders   bool   // classic: log request and response headers
	ContentType    string // forced response Content-Type
	SuppressLock   bool   // do not write the lock file
	MaxInflight    int    // concurrent requests before 429; 0 = unlimited
	PrefixLogs     bool   // prefix function output lines with time and stream
	LogCallID      bool   // add X-Call-Id to request log lines
	// RequestLogDelay batches the request log lines of the non-classic modes
	// for up to this long before one write to Stderr; 0 writes each at once.
	RequestLogDelay time.Duration

	// UpstreamURL is the http-mode target (env upstream_url / http_upstream_url).
	UpstreamURL string
	// AutoUpstream picks a free loopback port, passes it as PORT and proxies there.
	AutoUpstream bool
	// UpstreamSocket (env fjord_upstream_socket), with AutoUpstream, picks an
	// abstract Unix socket instead and passes it as FJORD_SOCKET: set by
	// templates whose server can listen there, a cheaper hop than TCP.
	UpstreamSocket bool
	// UpstreamInherit (fjord_upstream_socket=inherit) makes the watchdog
	// listen on that socket itself and hand the listening socket to the
	// server as fd 3 (FJORD_SOCKET_FD=3): calls queue on it while the server
	// starts, so the watchdog is ready without waiting for the server.
	UpstreamInherit bool
	// BufferBody reads the whole request body before forwarding it (http mode).
	BufferBody bool
	// ReadyPath, when set, is where /_/ready is forwarded on the function (http mode).
	ReadyPath string

	// StaticPath is the directory served in static mode.
	StaticPath string

	// MaxProcs, when > 0, is applied with runtime.GOMAXPROCS when Run starts.
	// ConfigFromEnv sets 1 unless GOMAXPROCS is in the environment: a proxy
	// hop runs its goroutines on one P without cross-thread wake-ups
	// (measured: 17 instead of 28 syscalls and 6 instead of 13 context
	// switches per proxied call, about a third less latency at one
	// connection, equal throughput at 50). 0 leaves the runtime alone, as
	// an embedding program wants.
	MaxProcs int

	// LockPath is the lock file written once serving ($TMPDIR/.lock).
	LockPath string
	// Stdout and Stderr receive the function's output and the watchdog's log lines.
	Stdout io.Writer
	Stderr io.Writer
}

// Default returns the classic-mode defaults.
func Default() Config {
	return Config{
		Mode:          ModeClassic,
		Port:          8080,
		MetricsPort:   8081,
		ListenFD:      -1,
		ReadyFD:       -1,
		ReadTimeout:   30 * time.Second,
		WriteTimeout:  30 * time.Second,
		CombineOutput: true,
		CGIHeaders:    true,
		PrefixLogs:    true,
		// Short enough for `fjord logs -f` to feel immediate.
		RequestLogDelay: 20 * time.Millisecond,
		StaticPath:      "/home/app/public",
		LockPath:        DefaultLockPath(),
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
	}
}

// DefaultLockPath is $TMPDIR/.lock, the file health checks look for.
func DefaultLockPath() string { return filepath.Join(os.TempDir(), ".lock") }

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch c.Mode {
	case ModeClassic, ModeHTTP, ModeStreaming, ModeSerializing, ModeStatic:
	default:
		return fmt.Errorf("unknown mode %q (want http, streaming, serializing or static, or unset for classic)", c.Mode)
	}
	if c.Mode != ModeStatic && len(splitCommand(c.Process)) == 0 {
		return errors.New("fprocess is required")
	}
	if c.Mode == ModeHTTP && c.UpstreamURL == "" && !c.AutoUpstream {
		return errors.New("upstream_url is required in http mode")
	}
	if c.UpstreamURL != "" {
		u, err := url.Parse(c.UpstreamURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("invalid upstream_url %q", c.UpstreamURL)
		}
	}
	if c.WriteTimeout <= 0 {
		return errors.New("write_timeout must be > 0")
	}
	if c.ReadTimeout < 0 || c.ExecTimeout < 0 || c.HealthcheckInterval < 0 {
		return errors.New("timeouts must not be negative")
	}
	if c.Port < 0 || c.Port > 65535 || c.MetricsPort < 0 || c.MetricsPort > 65535 {
		return errors.New("port and metrics_port must be within 0..65535")
	}
	if c.MaxInflight < 0 {
		return errors.New("max_inflight must not be negative")
	}
	if c.ReadyPath != "" && !strings.HasPrefix(c.ReadyPath, "/") {
		return fmt.Errorf("ready_path %q must start with /", c.ReadyPath)
	}
	return nil
}

// splitCommand splits fprocess on spaces, with no shell and no quoting.
func splitCommand(s string) []string {
	parts := strings.Split(strings.TrimSpace(s), " ")
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
