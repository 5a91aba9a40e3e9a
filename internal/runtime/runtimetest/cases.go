package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

func testDeployInvoke(t *testing.T, h *harness) {
	spec := h.spec("echo", h.fx.Echo, 1)
	h.apply(spec)
	eps := h.waitCount(spec.Ref, 1)
	mustEcho(t, h.ctx, eps[0], "hello fjord")
	st := h.waitStatus(spec.Ref, "1 available", func(st runtime.Status, err error) bool {
		return err == nil && st.Available() == 1
	})
	if st.Desired != 1 || len(st.Replicas) != 1 || st.Replicas[0].ID != eps[0].ID || st.Replicas[0].Revision != spec.Revision {
		t.Errorf("status = %+v; want 1 desired, replica %s of revision %d", st, eps[0].ID, spec.Revision)
	}
	list, err := h.rt.List(h.ctx)
	if err != nil || len(list) != 1 || list[0].Ref != spec.Ref {
		t.Errorf("List = %+v, %v; want only %s", list, err, spec.Ref)
	}
	if _, err := h.rt.Status(h.ctx, runtime.Ref{Name: "nope", Namespace: "openfaas-fn"}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status of unknown function: err %v, want ErrNotFound", err)
	}
}

func testScale(t *testing.T, h *harness) {
	spec := h.spec("scaled", h.fx.Echo, 0)
	h.apply(spec)
	st := h.waitStatus(spec.Ref, "0 desired", func(st runtime.Status, err error) bool { return err == nil })
	if st.Desired != 0 || st.Available() != 0 {
		t.Fatalf("status at 0 = %+v", st)
	}
	for _, step := range []int{3, 1} {
		if err := h.rt.Scale(h.ctx, spec.Ref, step); err != nil {
			t.Fatalf("Scale to %d: %v", step, err)
		}
		eps := h.waitCount(spec.Ref, step)
		for i, ep := range eps {
			mustEcho(t, h.ctx, ep, fmt.Sprintf("call %d", i))
		}
		h.waitStatus(spec.Ref, fmt.Sprintf("%d replicas", step), func(st runtime.Status, err error) bool {
			return err == nil && st.Desired == step && len(st.Replicas) == step && st.Available() == step
		})
	}
	if err := h.rt.Scale(h.ctx, runtime.Ref{Name: "nope", Namespace: "openfaas-fn"}, 1); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Scale of unknown function: err %v, want ErrNotFound", err)
	}
}

func testRollingUpdate(t *testing.T, h *harness) {
	spec := h.spec("rolled", h.fx.Echo, 2)
	h.apply(spec)
	old := h.waitCount(spec.Ref, 2)

	var calls, failed atomic.Int64
	var firstErr atomic.Value
	ctx, stop := context.WithCancel(h.ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				err := h.routedCall(spec.Ref, w+i, fmt.Sprintf("roll %d/%d", w, i))
				calls.Add(1)
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	next := h.spec("rolled", h.fx.Echo, 2)
	next.Env["revision"] = "2"
	h.apply(next)
	h.waitEndpoints(spec.Ref, "only new replicas", func(eps []runtime.Endpoint) bool {
		return len(eps) == 2 && !containsAny(eps, old)
	})
	h.waitStatus(spec.Ref, "only new revision", func(st runtime.Status, err error) bool {
		return err == nil && len(st.Replicas) == 2 && st.Replicas[0].Revision == next.Revision &&
			st.Replicas[1].Revision == next.Revision && st.Available() == 2
	})
	time.Sleep(50 * time.Millisecond) // a few calls on the new set
	stop()
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed during the roll; first: %v", failed.Load(), calls.Load(), firstErr.Load())
	}
	t.Logf("%d calls during the roll", calls.Load())
}

func containsAny(eps, old []runtime.Endpoint) bool {
	for _, e := range eps {
		for _, o := range old {
			if e.ID == o.ID {
				return true
			}
		}
	}
	return false
}

func testCrash(t *testing.T, h *harness) {
	spec := h.spec("crashy", h.fx.Crash, 1)
	h.apply(spec)
	st := h.waitStatus(spec.Ref, "a restart", func(st runtime.Status, err error) bool {
		return err == nil && len(st.Replicas) == 1 && st.Replicas[0].Restarts >= 1 && st.Replicas[0].Message != ""
	})
	if eps, _ := h.eps.get(spec.Ref); len(eps) != 0 {
		t.Errorf("crashing function has endpoints %v", eps)
	}
	if st.Available() != 0 {
		t.Errorf("crashing function has available replicas: %+v", st)
	}
	t.Logf("crash reported as %q", st.Replicas[0].Message)
}

func testRemove(t *testing.T, h *harness) {
	spec := h.spec("removed", h.fx.Echo, 2)
	h.apply(spec)
	h.waitCount(spec.Ref, 2)
	if err := h.rt.Remove(h.ctx, spec.Ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if eps, _ := h.eps.get(spec.Ref); len(eps) != 0 {
		t.Errorf("endpoints after Remove: %v", eps)
	}
	if _, err := h.rt.Status(h.ctx, spec.Ref); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status after Remove: err %v, want ErrNotFound", err)
	}
	if list, err := h.rt.List(h.ctx); err != nil || len(list) != 0 {
		t.Errorf("List after Remove = %+v, %v; want empty", list, err)
	}
	if err := h.rt.Remove(h.ctx, spec.Ref); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("second Remove: err %v, want ErrNotFound", err)
	}
}

func testLogs(t *testing.T, h *harness) {
	lr, ok := h.rt.(runtime.LogReader)
	if !ok || !h.rt.Capabilities().Logs {
		t.Skip("runtime does not capture logs")
	}
	spec := h.spec("logged", h.fx.Echo, 1)
	h.apply(spec)
	eps := h.waitCount(spec.Ref, 1)
	mustEcho(t, h.ctx, eps[0], "log me")
	deadline := time.Now().Add(h.timeout)
	for {
		var lines []string
		found := false
		ch, err := lr.Logs(h.ctx, runtime.LogQuery{Ref: spec.Ref, Tail: -1})
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
		for e := range ch {
			lines = append(lines, e.Text)
			if strings.Contains(e.Text, "Forking fprocess.") && e.Instance == eps[0].ID && !e.Time.IsZero() {
				found = true
			}
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line from %s in logs: %q", "Forking fprocess.", eps[0].ID, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
