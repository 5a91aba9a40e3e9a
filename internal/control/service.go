package control

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// lockStripes bounds the number of per-function mutexes; two functions that share
// a stripe only serialise their (rare) mutations.
const lockStripes = 64

// Service is the control plane. It is safe for concurrent use.
type Service struct {
	store       *store.Store
	rt          runtime.Runtime
	log         *slog.Logger
	invocations func(string) float64
	now         func() time.Time

	// locks serialise mutations of one function (store write + runtime call).
	locks [lockStripes]sync.Mutex
	// table is the copy-on-write in-memory view of the functions for the invoke
	// path; tableMu serialises writers, readers only Load.
	tableMu sync.Mutex
	table   atomic.Pointer[map[runtime.Ref]entry]
	wake    singleflight.Group
}

// New builds the service without touching the store or the runtime.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		store:       cfg.Store,
		rt:          cfg.Runtime,
		log:         log.With("component", "control"),
		invocations: cfg.Invocations,
		now:         func() time.Time { return time.Now().UTC() },
	}
	empty := map[runtime.Ref]entry{}
	s.table.Store(&empty)
	return s, nil
}

// Start loads the stored functions and applies each to the runtime with its
// stored replica count, so that everything deployed runs again after a restart.
// A function the runtime rejects is logged and skipped; Start fails only when
// the store cannot be read. Call it after the runtime's Start.
func (s *Service) Start(ctx context.Context) error {
	recs, err := s.store.ListFunctions(ctx, "")
	if err != nil {
		return fmt.Errorf("restore functions: %w", err)
	}
	s.loadTable(recs)
	failed := 0
	for _, rec := range recs {
		if err := s.apply(ctx, rec); err != nil {
			failed++
			s.log.Warn("restore function failed", "function", refOf(rec).String(), "error", err)
		}
	}
	s.log.Info("functions restored", "count", len(recs), "failed", failed)
	return nil
}

// Close releases nothing today; the store and runtime belong to the caller.
func (s *Service) Close(ctx context.Context) error { return nil }

// Orchestration names the active runtime.
func (s *Service) Orchestration() string { return s.rt.Name() }

// Capabilities tells what the active runtime enforces.
func (s *Service) Capabilities() runtime.Capabilities { return s.rt.Capabilities() }

// lock takes the mutex of a function and returns its unlock.
func (s *Service) lock(ref runtime.Ref) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ref.Namespace + "/" + ref.Name))
	m := &s.locks[h.Sum32()%lockStripes]
	m.Lock()
	return m.Unlock
}

// checkNamespace maps a missing namespace to api.ErrUnknownNamespace.
func (s *Service) checkNamespace(ctx context.Context, ns string) error {
	_, err := s.store.GetNamespace(ctx, ns)
	if errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("%w: %s", api.ErrUnknownNamespace, ns)
	}
	if err != nil {
		return fmt.Errorf("read namespace %s: %w", ns, err)
	}
	return nil
}

func orDefault(ns string) string {
	if ns == "" {
		return api.DefaultNamespace
	}
	return ns
}

func refOf(rec store.FunctionRecord) runtime.Ref {
	return runtime.Ref{Name: rec.Deployment.Service, Namespace: rec.Deployment.Namespace}
}
