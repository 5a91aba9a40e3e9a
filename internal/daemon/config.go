// Package daemon wires fjord's components into the `fjord serve` process.
package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fjord-faas/fjord/internal/router"
)

// Config is the daemon's configuration, read once at start-up from flags.
type Config struct {
	// Listen is the gateway address (API, functions, registry, metrics).
	Listen string
	// StateDir holds the bbolt state file, credentials, images, logs and replica dirs.
	StateDir string
	// Auth protects /system/*, /ui/ and registry pushes with basic auth.
	Auth bool
	// Example deploys the example function "hello" when it is not deployed yet.
	Example bool
	// Runtime names the engine: "process" (embedded default).
	Runtime string
	// Sandbox isolates replicas (namespaces + cgroups) when running as root.
	// "auto" uses it when possible, "on" requires it, "off" never uses it.
	Sandbox string
	// ShutdownTimeout bounds the graceful drain on SIGTERM.
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds /system/* request bodies.
	MaxBodyBytes int64
	// NATSURL, when set, uses that NATS server (with JetStream) for async
	// calls instead of the embedded one.
	NATSURL string
	// AsyncConcurrency is the number of async calls run at once.
	AsyncConcurrency int
	// AsyncMaxBody bounds the body of an async call (413 above it).
	AsyncMaxBody int64
	// AsyncSyncAlways fsyncs the embedded queue on every accepted call.
	AsyncSyncAlways bool
	// SpinWait is how long a function call may poll for a fast function's
	// answer instead of sleeping, while the daemon has idle CPUs; 0 turns
	// it off (see router.Config.SpinWait).
	SpinWait time.Duration
	// DebugListen, when set, serves Go pprof profiles on that address (no auth).
	DebugListen string
	// Logger receives the daemon's structured logs.
	Logger *slog.Logger
}

// Default returns the configuration `fjord serve` starts with.
func Default() Config {
	return Config{
		Listen:           ":8080",
		StateDir:         DefaultStateDir(),
		Auth:             true,
		Runtime:          "process",
		Sandbox:          "auto",
		ShutdownTimeout:  30 * time.Second,
		MaxBodyBytes:     1 << 20,
		AsyncConcurrency: 4,
		AsyncMaxBody:     1 << 20,
		SpinWait:         router.DefaultSpinWait,
		Logger:           slog.Default(),
	}
}

// DefaultStateDir is /var/lib/fjord for root, else the user's data directory.
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/fjord"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "fjord")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "fjord")
	}
	return filepath.Join(os.TempDir(), "fjord")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("invalid --listen %q: %w", c.Listen, err)
	}
	if c.StateDir == "" {
		return errors.New("--state-dir must not be empty")
	}
	abs, err := filepath.Abs(c.StateDir)
	if err != nil {
		return fmt.Errorf("resolve --state-dir: %w", err)
	}
	c.StateDir = abs
	if c.Runtime != "process" {
		return fmt.Errorf("unknown --runtime %q: this build supports \"process\"", c.Runtime)
	}
	switch c.Sandbox {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("invalid --sandbox %q: use auto, on or off", c.Sandbox)
	}
	if c.SpinWait < 0 || c.SpinWait > 10*time.Millisecond {
		return fmt.Errorf("invalid --spin-wait %s: must be between 0 (off) and 10ms", c.SpinWait)
	}
	if c.AsyncConcurrency < 1 {
		return fmt.Errorf("invalid --async-concurrency %d: must be at least 1", c.AsyncConcurrency)
	}
	if c.AsyncMaxBody < 1 || c.AsyncMaxBody > 32<<20 {
		return fmt.Errorf("invalid --async-max-body %d: must be between 1 byte and 32 MiB", c.AsyncMaxBody)
	}
	if c.NATSURL != "" && !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://") {
		return fmt.Errorf("invalid --nats-url %q: want nats://host:port (or tls://)", c.NATSURL)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
