package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/gateway"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// Function timeouts derived from a function's env.
const (
	DefaultTimeout = 60 * time.Second
	MinTimeout     = time.Second
)

// wakeTimeout bounds a shared scale-from-zero, which runs detached from the
// first caller's context so that its cancellation does not fail the others.
const wakeTimeout = 30 * time.Second

// entry is what the invoke path needs about a function, kept in memory.
type entry struct {
	info     gateway.FunctionInfo
	replicas int
	scale    api.ScaleConfig
}

func entryOf(rec store.FunctionRecord) entry {
	return entry{
		info: gateway.FunctionInfo{
			Timeout:   timeoutOf(rec.Deployment.EnvVars),
			ReadyPath: rec.Deployment.AnnotationMap()[api.AnnotationReadyPath],
		},
		replicas: rec.Replicas,
		scale:    api.ParseScale(rec.Deployment.LabelMap()),
	}
}

// timeoutOf reads exec_timeout, else write_timeout (a Go duration or whole
// seconds); unset, unparseable or non-positive values fall through to the
// default, and the result is never below MinTimeout.
func timeoutOf(env map[string]string) time.Duration {
	for _, k := range []string{"exec_timeout", "write_timeout"} {
		if d, ok := parseTimeout(env[k]); ok {
			return max(d, MinTimeout)
		}
	}
	return DefaultTimeout
}

func parseTimeout(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, n > 0
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}

func (s *Service) loadTable(recs []store.FunctionRecord) {
	m := make(map[runtime.Ref]entry, len(recs))
	for _, rec := range recs {
		m[refOf(rec)] = entryOf(rec)
	}
	s.tableMu.Lock()
	s.table.Store(&m)
	s.tableMu.Unlock()
}

// setEntry (rec non-nil) or deletes (rec nil) a function in the table.
func (s *Service) setEntry(ref runtime.Ref, rec *store.FunctionRecord) {
	s.tableMu.Lock()
	defer s.tableMu.Unlock()
	old := *s.table.Load()
	m := make(map[runtime.Ref]entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	if rec == nil {
		delete(m, ref)
	} else {
		m[ref] = entryOf(*rec)
	}
	s.table.Store(&m)
}

func (s *Service) entry(ref runtime.Ref) (entry, bool) {
	ref.Namespace = orDefault(ref.Namespace)
	e, ok := (*s.table.Load())[ref]
	return e, ok
}

// Lookup reports whether a function exists, from memory only.
func (s *Service) Lookup(ref runtime.Ref) (gateway.FunctionInfo, bool) {
	e, ok := s.entry(ref)
	return e.info, ok
}

// WakeUp gives a function at zero desired replicas max(min,1); concurrent
// callers share one scale-up. It returns once the new target is stored and
// handed to the runtime.
func (s *Service) WakeUp(ctx context.Context, ref runtime.Ref) error {
	ref.Namespace = orDefault(ref.Namespace)
	e, ok := s.entry(ref)
	if !ok {
		return fmt.Errorf("function %s in namespace %s: %w", ref.Name, ref.Namespace, api.ErrNotFound)
	}
	if e.replicas > 0 {
		return nil
	}
	ch := s.wake.DoChan(ref.String(), func() (any, error) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wakeTimeout)
		defer cancel()
		return nil, s.wakeUp(wctx, ref)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errNoChange = errors.New("no change")

// wakeUp starts the replicas before the new target is durable: the runtime is
// scaled while the store write (a bbolt commit with fsync) runs alongside, so
// the fsync is not on the cold-start path. This is crash-safe because the
// store stays the only source of truth: replicas die with the daemon, and a
// restart restores the stored target. A crash before the commit leaves the
// function at zero, as if the wake-up never happened, and the next call wakes
// it again; a failed commit scales the runtime back to the stored count and
// fails the wake-up, as before. The function's lock is held throughout, so no
// deploy, scale or remove interleaves.
func (s *Service) wakeUp(ctx context.Context, ref runtime.Ref) error {
	unlock := s.lock(ref)
	defer unlock()
	e, ok := s.entry(ref)
	if !ok {
		return fmt.Errorf("function %s in namespace %s: %w", ref.Name, ref.Namespace, api.ErrNotFound)
	}
	if e.replicas > 0 {
		return nil
	}
	n := max(e.scale.Min, 1)
	stored := make(chan storedRecord, 1)
	go func() { stored <- s.storeWake(ctx, ref, n) }()
	s.log.Info("scaling from zero", "function", ref.String(), "replicas", n)
	scaleErr := s.rt.Scale(ctx, ref, n)
	res := <-stored
	if res.err != nil {
		if scaleErr == nil {
			s.scaleBack(ctx, ref)
		}
		return fmt.Errorf("wake up function %s: %w", ref, res.err)
	}
	s.setEntry(ref, &res.rec)
	if res.rec.Replicas != n || errors.Is(scaleErr, runtime.ErrNotFound) {
		// The runtime lost the function, or the store disagreed: hand it the stored record.
		return s.scaleRuntime(ctx, res.rec)
	}
	if scaleErr != nil {
		return fmt.Errorf("scale function %s: %w", ref, scaleErr)
	}
	return nil
}

type storedRecord struct {
	rec store.FunctionRecord
	err error
}

// storeWake persists n replicas for a function at zero; a function that is
// not at zero in the store is returned unchanged.
func (s *Service) storeWake(ctx context.Context, ref runtime.Ref, n int) storedRecord {
	rec, err := s.store.UpdateFunction(ctx, ref.Namespace, ref.Name, func(r *store.FunctionRecord) error {
		if r.Replicas > 0 {
			return errNoChange
		}
		r.Replicas = n
		r.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, errNoChange) {
		rec, err = s.store.GetFunction(ctx, ref.Namespace, ref.Name)
	}
	return storedRecord{rec: rec, err: err}
}

// scaleBack returns the runtime to zero after a wake-up that could not be stored.
func (s *Service) scaleBack(ctx context.Context, ref runtime.Ref) {
	if err := s.rt.Scale(ctx, ref, 0); err != nil {
		s.log.Warn("scale back after failed wake-up", "function", ref.String(), "err", err)
	}
}
