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

func (s *Service) wakeUp(ctx context.Context, ref runtime.Ref) error {
	unlock := s.lock(ref)
	defer unlock()
	rec, err := s.store.UpdateFunction(ctx, ref.Namespace, ref.Name, func(r *store.FunctionRecord) error {
		if r.Replicas > 0 {
			return errNoChange
		}
		r.Replicas = max(api.ParseScale(r.Deployment.LabelMap()).Min, 1)
		r.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wake up function %s: %w", ref, err)
	}
	s.setEntry(ref, &rec)
	s.log.Info("scaling from zero", "function", ref.String(), "replicas", rec.Replicas)
	return s.scaleRuntime(ctx, rec)
}
