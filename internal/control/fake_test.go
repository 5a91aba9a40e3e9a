package control

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fjord-faas/fjord/internal/gateway"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

var (
	_ gateway.Control   = (*Service)(nil)
	_ gateway.Functions = (*Service)(nil)
)

// fakeRuntime records what the control plane asks for; every desired replica is ready.
type fakeRuntime struct {
	mu       sync.Mutex
	specs    map[runtime.Ref]runtime.FunctionSpec
	applies  int
	scales   int
	removes  int
	applyErr error
	// scaleGate, when set, blocks Scale until it is closed.
	scaleGate chan struct{}
}

func newFake() *fakeRuntime { return &fakeRuntime{specs: map[runtime.Ref]runtime.FunctionSpec{}} }

func (f *fakeRuntime) Name() string                       { return "fake" }
func (f *fakeRuntime) Capabilities() runtime.Capabilities { return runtime.Capabilities{} }
func (f *fakeRuntime) Health(context.Context) error       { return nil }
func (f *fakeRuntime) Subscribe(runtime.EndpointListener) {}
func (f *fakeRuntime) Start(context.Context) error        { return nil }
func (f *fakeRuntime) Close(context.Context) error        { return nil }

func (f *fakeRuntime) Apply(_ context.Context, spec runtime.FunctionSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	f.applies++
	f.specs[spec.Ref] = spec
	return nil
}

func (f *fakeRuntime) Scale(_ context.Context, ref runtime.Ref, n int) error {
	f.mu.Lock()
	gate := f.scaleGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scales++
	sp, ok := f.specs[ref]
	if !ok {
		return fmt.Errorf("scale %s: %w", ref, runtime.ErrNotFound)
	}
	sp.Replicas = n
	f.specs[ref] = sp
	return nil
}

func (f *fakeRuntime) Remove(_ context.Context, ref runtime.Ref) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removes++
	delete(f.specs, ref)
	return nil
}

func (f *fakeRuntime) Status(_ context.Context, ref runtime.Ref) (runtime.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp, ok := f.specs[ref]
	if !ok {
		return runtime.Status{Ref: ref}, runtime.ErrNotFound
	}
	return statusFor(sp), nil
}

func (f *fakeRuntime) List(context.Context) ([]runtime.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Status
	for _, sp := range f.specs {
		out = append(out, statusFor(sp))
	}
	return out, nil
}

func (f *fakeRuntime) spec(ref runtime.Ref) (runtime.FunctionSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp, ok := f.specs[ref]
	return sp, ok
}

func statusFor(sp runtime.FunctionSpec) runtime.Status {
	st := runtime.Status{Ref: sp.Ref, Desired: sp.Replicas}
	for i := 0; i < sp.Replicas; i++ {
		st.Replicas = append(st.Replicas, runtime.Replica{ID: fmt.Sprint(i), State: runtime.StateReady})
	}
	return st
}

// richRuntime adds logs and usage.
type richRuntime struct{ *fakeRuntime }

func (r richRuntime) Usage(context.Context, runtime.Ref) (runtime.Usage, error) {
	return runtime.Usage{CPU: 0.25, MemoryBytes: 4096}, nil
}

func (r richRuntime) Logs(context.Context, runtime.LogQuery) (<-chan runtime.LogEntry, error) {
	ch := make(chan runtime.LogEntry, 1)
	ch <- runtime.LogEntry{Instance: "0", Text: "hello\n"}
	close(ch)
	return ch, nil
}

// fixture opens a store in dir and starts a Service over rt.
func fixture(t *testing.T, dir string, rt runtime.Runtime) (*Service, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := Default()
	cfg.Store, cfg.Runtime = st, rt
	cfg.Invocations = func(fn string) float64 {
		if fn == "counted.openfaas-fn" {
			return 7
		}
		return 0
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, st
}
