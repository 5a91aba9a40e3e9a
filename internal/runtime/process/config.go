package process

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/fjord-faas/fjord/internal/image"
)

// Config configures the process runtime.
type Config struct {
	// StateDir holds replica work dirs, secrets, logs and pid files. Required.
	StateDir string
	// Watchdog is the command that runs the fjord watchdog; default
	// [os.Executable(), "watchdog"].
	Watchdog []string
	// Images resolves image references to unpacked bundles. Required.
	Images image.Provider
	// Sandbox starts replica processes; nil means the plain sandbox of this
	// package (no isolation, no limits).
	Sandbox Sandbox
	// Logger receives the runtime's own log lines; nil discards them.
	Logger *slog.Logger
	// LogMaxBytes bounds each replica's log file; one rotated file is kept.
	LogMaxBytes int64
	// DrainDelay is the pause between dropping a replica's endpoint and sending
	// it SIGTERM, so calls a router dispatched just before are accepted, not
	// reset (default 200ms; negative: none).
	DrainDelay time.Duration
	// StopTimeout is how long a replica may take to stop after SIGTERM.
	StopTimeout time.Duration
	// ReadyTimeout is how long the replicas of a new revision may take to become
	// ready before an update is rolled back.
	ReadyTimeout time.Duration
	// HealthInterval is the period of the liveness check of ready replicas.
	HealthInterval time.Duration
}

// Default returns a Config with every optional field set to its default.
func Default() Config {
	return Config{
		LogMaxBytes:    1 << 20,
		StopTimeout:    10 * time.Second,
		DrainDelay:     200 * time.Millisecond,
		ReadyTimeout:   60 * time.Second,
		HealthInterval: 5 * time.Second,
	}
}

// withDefaults fills zero fields from Default and the running executable.
func (c Config) withDefaults() (Config, error) {
	d := Default()
	if c.LogMaxBytes <= 0 {
		c.LogMaxBytes = d.LogMaxBytes
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = d.StopTimeout
	}
	if c.DrainDelay == 0 {
		c.DrainDelay = d.DrainDelay
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = d.ReadyTimeout
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = d.HealthInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(c.Watchdog) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("find own executable: %w", err)
		}
		c.Watchdog = []string{exe, "watchdog"}
	}
	if c.Sandbox == nil {
		c.Sandbox = PlainSandbox{}
	}
	return c, nil
}

// Validate reports a Config that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("StateDir is required"))
	}
	if c.Images == nil {
		errs = append(errs, errors.New("Images is required"))
	}
	if c.LogMaxBytes < 0 {
		errs = append(errs, errors.New("LogMaxBytes must not be negative"))
	}
	if c.StopTimeout < 0 || c.ReadyTimeout < 0 || c.HealthInterval < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	return errors.Join(errs...)
}
