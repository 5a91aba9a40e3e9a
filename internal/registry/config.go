// Package registry serves fjord's embedded OCI registry (the Distribution API
// under /v2/). Blobs live on disk; manifests are kept in memory by the
// underlying handler and mirrored to disk so they survive a restart.
package registry

import (
	"errors"
	"log/slog"
)

// Config configures the embedded registry.
type Config struct {
	// Dir holds the registry's data: Dir/blobs and Dir/manifests.
	Dir string
	// Logger receives request and persistence logs; nil discards them.
	Logger *slog.Logger
	// Authorize checks Basic credentials of pushes (POST, PUT, PATCH, DELETE).
	// Nil means no authentication. Pulls (GET, HEAD) are always open.
	Authorize func(user, pass string) bool
}

// Default returns a Config with no data directory set.
func Default() Config {
	return Config{}
}

// Validate reports whether the config can be used.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("registry: Dir is required")
	}
	return nil
}
