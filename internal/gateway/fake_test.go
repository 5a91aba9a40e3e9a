package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// fakeControl is an in-memory control plane that returns the contract's sentinels.
type fakeControl struct {
	mu         sync.Mutex
	fns        map[string]api.FunctionStatus // key ns/name
	secrets    map[string]api.Secret
	namespaces map[string]api.FunctionNamespace
	calls      []string // "Deploy ns/name", "Scale ns/name 3", ...
	fail       error    // returned by every call when set
	logs       chan runtime.LogEntry
}

func newFakeControl() *fakeControl {
	return &fakeControl{
		fns:        map[string]api.FunctionStatus{},
		secrets:    map[string]api.Secret{},
		namespaces: map[string]api.FunctionNamespace{api.DefaultNamespace: {Name: api.DefaultNamespace}, "dev": {Name: "dev"}},
	}
}

func key(ns, name string) string {
	if ns == "" {
		ns = api.DefaultNamespace
	}
	return ns + "/" + name
}

func (f *fakeControl) record(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.fail
}

func (f *fakeControl) checkNS(ns string) error {
	if _, ok := f.namespaces[ns]; !ok {
		return fmt.Errorf("check namespace %s: %w", ns, api.ErrUnknownNamespace)
	}
	return nil
}

func (f *fakeControl) Deploy(ctx context.Context, d api.FunctionDeployment, update bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Deploy %s update=%v", key(d.Namespace, d.Service), update); err != nil {
		return err
	}
	if err := f.checkNS(d.Namespace); err != nil {
		return err
	}
	if d.Image == "bad-image" {
		return fmt.Errorf("resolve image: %w", runtime.ErrImage)
	}
	_, ok := f.fns[key(d.Namespace, d.Service)]
	switch {
	case ok && !update:
		return fmt.Errorf("deploy %s: %w", d.Service, api.ErrExists)
	case !ok && update:
		return fmt.Errorf("update %s: %w", d.Service, api.ErrNotFound)
	}
	f.fns[key(d.Namespace, d.Service)] = api.FunctionStatus{Name: d.Service, Image: d.Image, Namespace: d.Namespace,
		Labels: d.LabelMap(), Annotations: d.AnnotationMap(), Replicas: 1}
	return nil
}

func (f *fakeControl) Remove(ctx context.Context, namespace, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Remove %s", key(namespace, name)); err != nil {
		return err
	}
	if _, ok := f.fns[key(namespace, name)]; !ok {
		return fmt.Errorf("remove %s: %w", name, api.ErrNotFound)
	}
	delete(f.fns, key(namespace, name))
	return nil
}

func (f *fakeControl) Get(ctx context.Context, namespace, name string, usage bool) (api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Get %s usage=%v", key(namespace, name), usage); err != nil {
		return api.FunctionStatus{}, err
	}
	st, ok := f.fns[key(namespace, name)]
	if !ok {
		return st, fmt.Errorf("get %s: %w", name, runtime.ErrNotFound)
	}
	if usage {
		st.Usage = &api.FunctionUsage{CPU: 0.5, TotalMemoryBytes: 1024}
	}
	return st, nil
}

func (f *fakeControl) List(ctx context.Context, namespace string) ([]api.FunctionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("List %s", namespace); err != nil {
		return nil, err
	}
	if err := f.checkNS(namespace); err != nil {
		return nil, err
	}
	var out []api.FunctionStatus
	for _, st := range f.fns {
		if st.Namespace == namespace {
			st.Namespace = "" // the gateway fills it in
			out = append(out, st)
		}
	}
	return out, nil
}

func (f *fakeControl) Scale(ctx context.Context, namespace, name string, replicas uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Scale %s %d", key(namespace, name), replicas); err != nil {
		return err
	}
	if _, ok := f.fns[key(namespace, name)]; !ok {
		return fmt.Errorf("scale %s: %w", name, api.ErrNotFound)
	}
	return nil
}

func (f *fakeControl) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListSecrets %s", namespace); err != nil {
		return nil, err
	}
	var out []api.Secret
	for _, s := range f.secrets {
		if s.Namespace == namespace {
			out = append(out, s) // with its value: the gateway must strip it
		}
	}
	return out, nil
}

func (f *fakeControl) CreateSecret(ctx context.Context, s api.Secret) error {
	return f.putSecret("CreateSecret", s, false)
}

func (f *fakeControl) UpdateSecret(ctx context.Context, s api.Secret) error {
	return f.putSecret("UpdateSecret", s, true)
}

func (f *fakeControl) putSecret(op string, s api.Secret, update bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("%s %s %s", op, key(s.Namespace, s.Name), s.Bytes()); err != nil {
		return err
	}
	_, ok := f.secrets[key(s.Namespace, s.Name)]
	switch {
	case ok && !update:
		return fmt.Errorf("create secret: %w", api.ErrExists)
	case !ok && update:
		return fmt.Errorf("update secret: %w", api.ErrNotFound)
	}
	f.secrets[key(s.Namespace, s.Name)] = s
	return nil
}

func (f *fakeControl) DeleteSecret(ctx context.Context, namespace, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeleteSecret %s", key(namespace, name)); err != nil {
		return err
	}
	if _, ok := f.secrets[key(namespace, name)]; !ok {
		return fmt.Errorf("delete secret: %w", api.ErrNotFound)
	}
	delete(f.secrets, key(namespace, name))
	return nil
}

func (f *fakeControl) ListNamespaces(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ListNamespaces"); err != nil {
		return nil, err
	}
	return []string{api.DefaultNamespace, "dev"}, nil
}

func (f *fakeControl) GetNamespace(ctx context.Context, name string) (api.FunctionNamespace, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, ok := f.namespaces[name]
	if !ok {
		return ns, fmt.Errorf("get namespace: %w", api.ErrNotFound)
	}
	return ns, f.record("GetNamespace %s", name)
}

func (f *fakeControl) CreateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[ns.Name]; ok {
		return fmt.Errorf("create namespace: %w", api.ErrExists)
	}
	f.namespaces[ns.Name] = ns
	return f.record("CreateNamespace %s", ns.Name)
}

func (f *fakeControl) UpdateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[ns.Name]; !ok {
		return fmt.Errorf("update namespace: %w", api.ErrNotFound)
	}
	return f.record("UpdateNamespace %s", ns.Name)
}

func (f *fakeControl) DeleteNamespace(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.namespaces[name]; !ok {
		return fmt.Errorf("delete namespace: %w", api.ErrNotFound)
	}
	delete(f.namespaces, name)
	return f.record("DeleteNamespace %s", name)
}

func (f *fakeControl) Logs(ctx context.Context, q runtime.LogQuery) (<-chan runtime.LogEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Logs %s tail=%d follow=%v since=%s instance=%s", key(q.Namespace, q.Name), q.Tail, q.Follow, q.Since.Format(time.RFC3339), q.Instance); err != nil {
		return nil, err
	}
	switch q.Name {
	case "nologs":
		return nil, fmt.Errorf("logs: %w", runtime.ErrUnsupported)
	case "fn":
		return f.logs, nil
	}
	return nil, fmt.Errorf("logs: %w", api.ErrNotFound)
}

func (f *fakeControl) Orchestration() string { return "process" }

func (f *fakeControl) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{Isolation: "none", LimitsReason: "fake runtime"}
}

// lastCall returns the most recent recorded call.
func (f *fakeControl) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

var errBoom = errors.New("disk on fire")

// fakeFunctions knows the functions the fake control holds.
type fakeFunctions struct{ c *fakeControl }

func (f fakeFunctions) Lookup(ref runtime.Ref) (FunctionInfo, bool) {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	_, ok := f.c.fns[key(ref.Namespace, ref.Name)]
	return FunctionInfo{Timeout: 2 * time.Second}, ok
}

func (f fakeFunctions) WakeUp(ctx context.Context, ref runtime.Ref) error { return nil }
