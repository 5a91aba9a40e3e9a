package control

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

func TestScaleClampAndRemove(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)
	if err := svc.Deploy(ctx, deployment("fn", map[string]string{api.LabelScaleMax: "3"}), false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ask  uint64
		want int
	}{{10, 3}, {0, 0}, {2, 2}} {
		if err := svc.Scale(ctx, "", "fn", tt.ask); err != nil {
			t.Fatal(err)
		}
		st, _ := svc.Get(ctx, "", "fn", false)
		sp, _ := rt.spec(ref("fn"))
		if st.Replicas != uint64(tt.want) || sp.Replicas != tt.want {
			t.Fatalf("scale %d: stored %d, runtime %d, want %d", tt.ask, st.Replicas, sp.Replicas, tt.want)
		}
	}
	if err := svc.Scale(ctx, "", "ghost", 1); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("scale unknown: %v", err)
	}
	if err := svc.Remove(ctx, "", "fn"); err != nil {
		t.Fatal(err)
	}
	if _, ok := rt.spec(ref("fn")); ok {
		t.Fatal("runtime still has the function")
	}
	if _, ok := svc.Lookup(ref("fn")); ok {
		t.Fatal("lookup still finds the function")
	}
	if err := svc.Remove(ctx, "", "fn"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
}

func TestScaleReappliesWhenRuntimeLostFunction(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)
	if err := svc.Deploy(ctx, deployment("fn", nil), false); err != nil {
		t.Fatal(err)
	}
	_ = rt.Remove(ctx, ref("fn"))
	if err := svc.Scale(ctx, "", "fn", 2); err != nil {
		t.Fatal(err)
	}
	if sp, ok := rt.spec(ref("fn")); !ok || sp.Replicas != 2 {
		t.Fatalf("not re-applied: %+v %v", sp, ok)
	}
}

func TestRestoreAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, st := fixture(t, dir, newFake())
	if err := svc.CreateSecret(ctx, api.Secret{Name: "db", Value: "pw"}); err != nil {
		t.Fatal(err)
	}
	d := deployment("fn", map[string]string{api.LabelScaleMin: "0"})
	d.Secrets = []string{"db"}
	if err := svc.Deploy(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.Scale(ctx, "", "fn", 4); err != nil {
		t.Fatal(err)
	}
	_ = svc.Close(ctx)
	_ = st.Close()

	rt2 := newFake()
	svc2, _ := fixture(t, dir, rt2)
	sp, ok := rt2.spec(ref("fn"))
	if !ok || sp.Replicas != 4 || sp.Image != d.Image || len(sp.Secrets) != 1 || string(sp.Secrets[0].Data) != "pw" {
		t.Fatalf("restored spec: %+v %v", sp, ok)
	}
	if _, ok := svc2.Lookup(ref("fn")); !ok {
		t.Fatal("lookup after restart")
	}
}

func TestWakeUpSingleflight(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)
	if err := svc.Deploy(ctx, deployment("fn", map[string]string{api.LabelScaleMin: "0"}), false); err != nil {
		t.Fatal(err)
	}
	if err := svc.WakeUp(ctx, runtime.Ref{Name: "ghost"}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("wake unknown: %v", err)
	}
	rt.mu.Lock()
	rt.scaleGate = make(chan struct{})
	before := rt.scales
	rt.mu.Unlock()

	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svc.WakeUp(ctx, runtime.Ref{Name: "fn"})
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up behind the gate
	close(rt.scaleGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rt.mu.Lock()
	scales := rt.scales - before
	rt.mu.Unlock()
	if scales != 1 {
		t.Fatalf("runtime scaled %d times, want 1", scales)
	}
	if st, _ := svc.Get(ctx, "", "fn", false); st.Replicas != 1 {
		t.Fatalf("replicas %d, want max(min,1)=1", st.Replicas)
	}
	if err := svc.WakeUp(ctx, ref("fn")); err != nil {
		t.Fatal(err)
	}
}

func TestTimeoutOf(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want time.Duration
	}{
		{nil, DefaultTimeout},
		{map[string]string{"exec_timeout": "10s", "write_timeout": "20s"}, 10 * time.Second},
		{map[string]string{"write_timeout": "15"}, 15 * time.Second},
		{map[string]string{"exec_timeout": "0", "write_timeout": "2m"}, 2 * time.Minute},
		{map[string]string{"exec_timeout": "100ms"}, MinTimeout},
		{map[string]string{"exec_timeout": "soon"}, DefaultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			if got := timeoutOf(tt.env); got != tt.want {
				t.Fatalf("timeoutOf(%v) = %s, want %s", tt.env, got, tt.want)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	ctx := context.Background()
	plain, _ := fixture(t, t.TempDir(), newFake())
	_ = plain.Deploy(ctx, deployment("fn", nil), false)
	if _, err := plain.Logs(ctx, runtime.LogQuery{Ref: runtime.Ref{Name: "fn"}}); !errors.Is(err, runtime.ErrUnsupported) {
		t.Fatalf("no log reader: %v", err)
	}
	rich, _ := fixture(t, t.TempDir(), richRuntime{newFake()})
	_ = rich.Deploy(ctx, deployment("fn", nil), false)
	if _, err := rich.Logs(ctx, runtime.LogQuery{Ref: runtime.Ref{Name: "ghost"}}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown function: %v", err)
	}
	ch, err := rich.Logs(ctx, runtime.LogQuery{Ref: runtime.Ref{Name: "fn"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := <-ch; e.Text != "hello\n" {
		t.Fatalf("entry %+v", e)
	}
	if rich.Orchestration() != "fake" {
		t.Fatal("orchestration")
	}
}

// TestWakeUpStoreFailureScalesBack checks that a wake-up whose new target
// cannot be stored fails and leaves the runtime at the stored zero, although
// the runtime was scaled up before the write.
func TestWakeUpStoreFailureScalesBack(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, st := fixture(t, t.TempDir(), rt)
	if err := svc.Deploy(ctx, deployment("fn", map[string]string{api.LabelScaleMin: "0"}), false); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.WakeUp(ctx, ref("fn")); err == nil {
		t.Fatal("wake-up succeeded with a closed store")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if got := rt.specs[ref("fn")].Replicas; got != 0 {
		t.Fatalf("runtime left at %d replicas, want 0", got)
	}
	if rt.scales != 2 {
		t.Fatalf("runtime scaled %d times, want up and back", rt.scales)
	}
}
