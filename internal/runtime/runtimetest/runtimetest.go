// Package runtimetest is the conformance suite every fjord runtime passes:
// deploy, invoke through pushed endpoints, scale, roll, crash, remove, logs.
package runtimetest

import (
	"context"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// Fixture is a function image the suite deploys, with the env it needs.
type Fixture struct {
	// Image is the reference passed as FunctionSpec.Image.
	Image string
	// Env is merged into FunctionSpec.Env (e.g. fprocess when the image lacks it).
	Env map[string]string
}

// Fixtures are the images a runtime supplies to the suite.
type Fixtures struct {
	// Echo runs the classic watchdog with fprocess "cat": a call answers its body.
	Echo Fixture
	// Crash has a watchdog that exits at once with a non-zero code.
	Crash Fixture
}

// Factory returns a new, not yet started runtime and the fixtures it can run.
// It registers its own cleanup (temp dirs, images) with t; the suite starts
// the runtime and closes it.
type Factory func(t *testing.T) (runtime.Runtime, Fixtures)

// Options tune the suite for slow runtimes.
type Options struct {
	// Timeout bounds each wait for a state (default 30s).
	Timeout time.Duration
}

// Run runs the whole suite against the runtime f makes, one fresh runtime per case.
func Run(t *testing.T, f Factory) { RunWithOptions(t, f, Options{}) }

// RunWithOptions is Run with tuning.
func RunWithOptions(t *testing.T, f Factory, o Options) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	cases := []struct {
		name string
		run  func(*testing.T, *harness)
	}{
		{"DeployInvoke", testDeployInvoke},
		{"Scale", testScale},
		{"RollingUpdate", testRollingUpdate},
		{"CrashRestart", testCrash},
		{"Remove", testRemove},
		{"Logs", testLogs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newHarness(t, f, o))
		})
	}
}

// harness is one started runtime with an endpoint recorder.
type harness struct {
	t        *testing.T
	rt       runtime.Runtime
	fx       Fixtures
	eps      *endpoints
	timeout  time.Duration
	ctx      context.Context
	revision uint64
}

func newHarness(t *testing.T, f Factory, o Options) *harness {
	t.Helper()
	rt, fx := f(t)
	h := &harness{t: t, rt: rt, fx: fx, eps: newEndpoints(), timeout: o.Timeout, ctx: t.Context()}
	rt.Subscribe(h.eps.update)
	if err := rt.Start(h.ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// spec builds a spec of fixture fx with a fresh revision.
func (h *harness) spec(name string, fx Fixture, replicas int) runtime.FunctionSpec {
	h.revision++
	env := map[string]string{}
	for k, v := range fx.Env {
		env[k] = v
	}
	return runtime.FunctionSpec{
		Ref:      runtime.Ref{Name: name, Namespace: "openfaas-fn"},
		Image:    fx.Image,
		Env:      env,
		Replicas: replicas,
		Revision: h.revision,
		Labels:   map[string]string{"faas_function": name},
	}
}

func (h *harness) apply(spec runtime.FunctionSpec) {
	h.t.Helper()
	if err := h.rt.Apply(h.ctx, spec); err != nil {
		h.t.Fatalf("Apply %s rev %d: %v", spec.Ref, spec.Revision, err)
	}
}

// waitStatus polls Status until ok holds or the timeout ends.
func (h *harness) waitStatus(ref runtime.Ref, what string, ok func(runtime.Status, error) bool) runtime.Status {
	h.t.Helper()
	deadline := time.Now().Add(h.timeout)
	for {
		st, err := h.rt.Status(h.ctx, ref)
		if ok(st, err) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s of %s: last status %+v, err %v", what, ref, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
