// Package control is fjord's control plane: it keeps the desired state of
// functions, secrets and namespaces in the store and is the one place that
// tells the runtime what to run. It implements gateway.Control and
// gateway.Functions.
package control

import (
	"errors"
	"log/slog"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// Config wires the control plane.
type Config struct {
	// Store holds the desired state; the caller opens it before New and closes
	// it after Close.
	Store *store.Store
	// Runtime runs the replicas; the caller starts it before Start.
	Runtime runtime.Runtime
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Invocations returns the completed calls of a function named "name.namespace",
	// reported as invocationCount by List. Nil reports none.
	Invocations func(function string) float64
}

// Default returns a Config with a discarding logger; Store and Runtime must be set.
func Default() Config {
	return Config{Logger: slog.New(slog.DiscardHandler)}
}

// Validate checks that the required dependencies are set.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("control config: Store is required")
	}
	if c.Runtime == nil {
		return errors.New("control config: Runtime is required")
	}
	return nil
}
