package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// Get returns a function's status: the stored deployment echoed, desired and
// ready replicas, and resource usage when asked for and the runtime measures it.
func (s *Service) Get(ctx context.Context, namespace, name string, usage bool) (api.FunctionStatus, error) {
	ns := orDefault(namespace)
	if err := s.checkNamespace(ctx, ns); err != nil {
		return api.FunctionStatus{}, err
	}
	rec, err := s.store.GetFunction(ctx, ns, name)
	if err != nil {
		return api.FunctionStatus{}, err
	}
	st := statusOf(rec)
	ref := refOf(rec)
	rs, err := s.rt.Status(ctx, ref)
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		s.log.Warn("read runtime status failed", "function", ref.String(), "error", err)
	}
	st.AvailableReplicas = uint64(rs.Available())
	st.Message = rs.Message
	for _, r := range rs.Replicas {
		st.Instances = append(st.Instances, api.InstanceStatus{
			ID: r.ID, State: string(r.State), Restarts: r.Restarts, Message: r.Message, StartedAt: r.StartedAt,
		})
	}
	if usage {
		st.Usage = s.usage(ctx, ref)
	}
	return st, nil
}

// List returns the functions of a namespace with their invocation counts.
func (s *Service) List(ctx context.Context, namespace string) ([]api.FunctionStatus, error) {
	ns := orDefault(namespace)
	if err := s.checkNamespace(ctx, ns); err != nil {
		return nil, err
	}
	recs, err := s.store.ListFunctions(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	available := map[runtime.Ref]int{}
	all, err := s.rt.List(ctx)
	if err != nil {
		s.log.Warn("list runtime status failed", "error", err)
	}
	for _, rs := range all {
		available[rs.Ref] = rs.Available()
	}
	out := make([]api.FunctionStatus, 0, len(recs))
	for _, rec := range recs {
		st := statusOf(rec)
		st.AvailableReplicas = uint64(available[refOf(rec)])
		if s.invocations != nil {
			st.InvocationCount = s.invocations(refOf(rec).String())
		}
		out = append(out, st)
	}
	return out, nil
}

// statusOf echoes the stored deployment exactly as the contract's section 2.2 says.
func statusOf(rec store.FunctionRecord) api.FunctionStatus {
	d := rec.Deployment
	st := api.FunctionStatus{
		Name:                   d.Service,
		Image:                  d.Image,
		Namespace:              d.Namespace,
		EnvProcess:             d.EnvProcess,
		Constraints:            d.Constraints,
		Secrets:                d.Secrets,
		Labels:                 d.LabelMap(),
		Annotations:            d.AnnotationMap(),
		ReadOnlyRootFilesystem: d.ReadOnlyRootFilesystem,
		Replicas:               uint64(rec.Replicas),
		CreatedAt:              rec.CreatedAt,
	}
	if len(d.EnvVars) > 0 {
		st.EnvVars = d.EnvVars
	}
	if !d.Limits.IsZero() {
		st.Limits = d.Limits
	}
	if !d.Requests.IsZero() {
		st.Requests = d.Requests
	}
	return st
}

// usage reads resource use; nil when the runtime cannot measure it.
func (s *Service) usage(ctx context.Context, ref runtime.Ref) *api.FunctionUsage {
	ur, ok := s.rt.(runtime.UsageReader)
	if !ok {
		return nil
	}
	u, err := ur.Usage(ctx, ref)
	if err != nil {
		s.log.Warn("read usage failed", "function", ref.String(), "error", err)
		return nil
	}
	return &api.FunctionUsage{CPU: u.CPU, TotalMemoryBytes: float64(u.MemoryBytes)}
}

// Logs streams a function's logs from the runtime.
func (s *Service) Logs(ctx context.Context, q runtime.LogQuery) (<-chan runtime.LogEntry, error) {
	q.Namespace = orDefault(q.Namespace)
	if err := s.checkNamespace(ctx, q.Namespace); err != nil {
		return nil, err
	}
	if _, ok := s.entry(q.Ref); !ok {
		return nil, fmt.Errorf("function %s in namespace %s: %w", q.Name, q.Namespace, api.ErrNotFound)
	}
	lr, ok := s.rt.(runtime.LogReader)
	if !ok {
		return nil, fmt.Errorf("%w: the %s runtime keeps no logs", runtime.ErrUnsupported, s.rt.Name())
	}
	ch, err := lr.Logs(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read logs of %s: %w", q.Ref, err)
	}
	return ch, nil
}
