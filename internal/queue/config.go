// Package queue runs fjord's async calls on NATS JetStream (contract section 9):
// an embedded server by default or an external one, a work-queue stream of
// accepted calls, workers that replay them through the gateway's invoke path,
// retries with back-off and a dead-letter stream.
package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultConcurrency = 4
	DefaultMaxBody     = 1 << 20
	DefaultAckWait     = 15 * time.Second
	// DefaultSyncInterval is how often the embedded server fsyncs its store
	// (the NATS default is 2 minutes).
	DefaultSyncInterval = time.Second
	// maxMaxBody keeps a message (base64 body + metadata) under the 64 MiB
	// NATS payload ceiling.
	maxMaxBody = 32 << 20
)

// Config configures the queue.
type Config struct {
	// Dir is the embedded server's store directory (<state-dir>/queue);
	// unused with URL.
	Dir string
	// URL, when set, connects to an external NATS server with JetStream
	// instead of embedding one.
	URL string
	// SyncAlways fsyncs the embedded store on every write; otherwise it is
	// synced every SyncInterval (a kill -9 loses nothing either way, a power
	// loss can lose what was written since the last sync).
	SyncAlways bool
	// SyncInterval is the embedded store's fsync period; 0 → DefaultSyncInterval.
	SyncInterval time.Duration
	// Concurrency is the number of workers (calls run at once).
	Concurrency int
	// MaxBody is the largest request body a call may carry.
	MaxBody int64
	// AckWait is how long JetStream waits for a sign of life from a worker
	// before it redelivers a message; a running call renews it every AckWait/3,
	// so it bounds the redelivery delay after a crash, not a call's duration.
	AckWait time.Duration
	// Functions tells the workers each function's timeout and annotations. Required.
	Functions Functions
	// Callback sends callbacks; nil uses a client with a 30 s timeout.
	Callback *http.Client
	// Registry receives the queue's metrics; nil registers none.
	Registry prometheus.Registerer
	// UserAgent is sent on calls and callbacks.
	UserAgent string
	// Logger receives the queue's logs; nil discards them.
	Logger *slog.Logger
}

// Default returns the default configuration (Functions still has to be set).
func Default() Config {
	return Config{
		Concurrency:  DefaultConcurrency,
		MaxBody:      DefaultMaxBody,
		AckWait:      DefaultAckWait,
		SyncInterval: DefaultSyncInterval,
		UserAgent:    "fjord-queue-worker",
	}
}

// Validate reports a configuration the queue cannot run with.
func (c Config) Validate() error {
	switch {
	case c.Functions == nil:
		return errors.New("queue: Functions is required")
	case c.URL == "" && c.Dir == "":
		return errors.New("queue: Dir or URL is required")
	case c.Concurrency < 1:
		return fmt.Errorf("queue: concurrency must be at least 1, got %d", c.Concurrency)
	case c.MaxBody < 1 || c.MaxBody > maxMaxBody:
		return fmt.Errorf("queue: async body limit must be between 1 byte and %d MiB, got %d", maxMaxBody>>20, c.MaxBody)
	case c.AckWait < 0 || c.SyncInterval < 0:
		return errors.New("queue: AckWait and SyncInterval must not be negative")
	}
	return nil
}
