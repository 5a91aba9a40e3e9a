package daemon

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/control"
	"github.com/fjord-faas/fjord/internal/queue"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/version"
)

// startQueue runs the async queue: the embedded JetStream server under
// <state-dir>/queue, or a connection to --nats-url. Workers start later,
// once the gateway's handler exists.
func (d *Daemon) startQueue(ctx context.Context, reg *prometheus.Registry) error {
	cfg := queue.Default()
	cfg.Dir = filepath.Join(d.cfg.StateDir, "queue")
	cfg.URL = d.cfg.NATSURL
	cfg.SyncAlways = d.cfg.AsyncSyncAlways
	cfg.Concurrency = d.cfg.AsyncConcurrency
	cfg.MaxBody = d.cfg.AsyncMaxBody
	cfg.Functions = asyncFunctions{d.control}
	cfg.Registry = reg
	cfg.UserAgent = "fjord-queue-worker/" + version.Get().Release
	cfg.Logger = d.log
	q, err := queue.New(cfg)
	if err != nil {
		return err
	}
	d.queue = q
	if err := q.Start(ctx); err != nil {
		return fmt.Errorf("start async queue: %w", err)
	}
	return nil
}

// asyncFunctions gives the workers a function's timeout and annotations.
type asyncFunctions struct{ c *control.Service }

func (a asyncFunctions) Settings(ctx context.Context, ref runtime.Ref) (queue.FunctionSettings, error) {
	info, ok := a.c.Lookup(ref)
	if !ok {
		return queue.FunctionSettings{}, fmt.Errorf("function %s: %w", ref, api.ErrNotFound)
	}
	ann, err := a.c.Annotations(ctx, ref)
	return queue.FunctionSettings{Timeout: info.Timeout, Annotations: ann}, err
}
