// Package process is fjord's embedded default runtime: each replica is a local
// fjord watchdog process, started through a Sandbox (plain by default).
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// Runtime runs function replicas as local watchdog processes.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	caps   SandboxCaps
	client *http.Client

	mu        sync.Mutex
	funcs     map[runtime.Ref]*function
	listeners []runtime.EndpointListener
	closed    bool
}

var (
	_ runtime.Runtime     = (*Runtime)(nil)
	_ runtime.LogReader   = (*Runtime)(nil)
	_ runtime.UsageReader = (*Runtime)(nil)
)

// New returns a process runtime; it starts nothing until Start.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid process runtime config: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Runtime{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "runtime.process"),
		caps:  cfg.Sandbox.Capabilities(),
		funcs: map[runtime.Ref]*function{},
		client: &http.Client{
			Timeout: 2 * time.Second,
			Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext:       (&sockaddr.Dialer{}).DialContext,
			},
		},
	}, nil
}

// Name returns "process".
func (rt *Runtime) Name() string { return "process" }

// Capabilities reports what the sandbox enforces; logs and usage are always offered.
func (rt *Runtime) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{
		Isolation:      rt.caps.Isolation,
		LimitsEnforced: rt.caps.LimitsEnforced,
		LimitsReason:   rt.caps.LimitsReason,
		Logs:           true,
		Usage:          true,
	}
}

// Health returns nil: local processes need no engine.
func (rt *Runtime) Health(context.Context) error { return nil }

// Subscribe registers l for endpoint changes of every function.
func (rt *Runtime) Subscribe(l runtime.EndpointListener) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.listeners = append(rt.listeners, l)
}

func (rt *Runtime) subscribers() []runtime.EndpointListener {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.listeners
}

// Start cleans up what an earlier run left behind (see orphans.go).
func (rt *Runtime) Start(ctx context.Context) error {
	return rt.cleanupStale(ctx)
}

// Close stops every replica gracefully, in parallel, then closes the
// sandbox when it has a Close method (the namespace sandbox's spare inits).
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	rt.closed = true
	fs := make([]*function, 0, len(rt.funcs))
	for _, f := range rt.funcs {
		fs = append(fs, f)
	}
	rt.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(func() { f.shutdown(ctx, false) })
	}
	wg.Wait()
	if c, ok := rt.cfg.Sandbox.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			rt.log.Warn("close sandbox", "err", err)
		}
	}
	return ctx.Err()
}

func (rt *Runtime) lookup(ref runtime.Ref) (*function, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	f := rt.funcs[ref]
	if f == nil {
		return nil, fmt.Errorf("function %s: %w", ref, runtime.ErrNotFound)
	}
	return f, nil
}

// Scale sets the desired replica count of a deployed function.
func (rt *Runtime) Scale(_ context.Context, ref runtime.Ref, replicas int) error {
	if replicas < 0 {
		return fmt.Errorf("scale %s to %d: replicas must not be negative", ref, replicas)
	}
	f, err := rt.lookup(ref)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.desired = replicas
	f.scaleLocked()
	return nil
}

// Remove empties the function's endpoints, stops its replicas and deletes its files.
func (rt *Runtime) Remove(ctx context.Context, ref runtime.Ref) error {
	rt.mu.Lock()
	f := rt.funcs[ref]
	delete(rt.funcs, ref)
	rt.mu.Unlock()
	if f == nil {
		return fmt.Errorf("remove %s: %w", ref, runtime.ErrNotFound)
	}
	f.shutdown(ctx, true)
	return ctx.Err()
}

// Status reports one function.
func (rt *Runtime) Status(_ context.Context, ref runtime.Ref) (runtime.Status, error) {
	f, err := rt.lookup(ref)
	if err != nil {
		return runtime.Status{}, err
	}
	return f.status(), nil
}

// List reports every function, ordered by namespace and name.
func (rt *Runtime) List(context.Context) ([]runtime.Status, error) {
	rt.mu.Lock()
	fs := make([]*function, 0, len(rt.funcs))
	for _, f := range rt.funcs {
		fs = append(fs, f)
	}
	rt.mu.Unlock()
	out := make([]runtime.Status, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.status())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Logs streams stored and (with q.Follow) new log lines of a function's replicas.
func (rt *Runtime) Logs(ctx context.Context, q runtime.LogQuery) (<-chan runtime.LogEntry, error) {
	f, err := rt.lookup(q.Ref)
	if err != nil {
		return nil, err
	}
	entries, sub := f.logs.query(q)
	out := make(chan runtime.LogEntry, 64)
	go stream(ctx, f.logs, entries, sub, out)
	return out, nil
}

func (rt *Runtime) path(parts ...string) string {
	return filepath.Join(append([]string{rt.cfg.StateDir}, parts...)...)
}

var errClosed = errors.New("runtime closed")
