package process

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

func collect(t *testing.T, ch <-chan runtime.LogEntry) []runtime.LogEntry {
	t.Helper()
	var out []runtime.LogEntry
	for e := range ch {
		out = append(out, e)
	}
	return out
}

func TestLogsQuery(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	spec := echoSpec("talk", 1, 2)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	two := eps.wait(t, spec.Ref, 2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	follow, err := rt.Logs(ctx, runtime.LogQuery{Ref: spec.Ref, Instance: two[1].ID, Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	post(t, two[0], "a")
	post(t, two[1], "b")
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case e := <-follow:
			if e.Instance != two[1].ID {
				t.Fatalf("followed line of %s, want only %s", e.Instance, two[1].ID)
			}
			got = strings.Contains(e.Text, "Forking fprocess.")
		case <-deadline:
			t.Fatal("no followed line")
		}
	}
	cancel()
	for range follow { // closed once ctx ends
	}

	// Stopped replicas keep their logs until the function is removed.
	if err := rt.Scale(t.Context(), spec.Ref, 0); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 0)
	all := collect(t, must(rt.Logs(t.Context(), runtime.LogQuery{Ref: spec.Ref})))
	seen := map[string]bool{}
	for i, e := range all {
		seen[e.Instance] = true
		if !strings.HasSuffix(e.Text, "\n") || (i > 0 && e.Time.Before(all[i-1].Time)) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	if !seen[two[0].ID] || !seen[two[1].ID] {
		t.Errorf("logs of %v missing in %d lines", two, len(all))
	}
	if tail := collect(t, must(rt.Logs(t.Context(), runtime.LogQuery{Ref: spec.Ref, Tail: 1}))); len(tail) != 1 || tail[0] != all[len(all)-1] {
		t.Errorf("tail 1 = %+v, want the last line %+v", tail, all[len(all)-1])
	}
	since := all[len(all)-1].Time
	if newer := collect(t, must(rt.Logs(t.Context(), runtime.LogQuery{Ref: spec.Ref, Since: since}))); len(newer) != 0 {
		t.Errorf("since the last line: %+v", newer)
	}
	if err := rt.Remove(t.Context(), spec.Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Logs(t.Context(), runtime.LogQuery{Ref: spec.Ref}); err == nil {
		t.Error("logs of a removed function")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLogRotation(t *testing.T) {
	s := newLogStore(t.TempDir(), 100)
	for i := range 20 {
		s.append(runtime.LogEntry{Instance: "r1", Time: time.Now().UTC(), Text: strings.Repeat("x", 10) + string(rune('a'+i)) + "\n"})
	}
	entries, _ := s.query(runtime.LogQuery{})
	if len(entries) == 0 || len(entries) >= 20 {
		t.Fatalf("kept %d of 20 lines, want a bounded suffix", len(entries))
	}
	if last := entries[len(entries)-1].Text; last != strings.Repeat("x", 10)+"t\n" {
		t.Errorf("last line = %q", last)
	}
	s.close(true)
}

func TestOrphansKilledOnStart(t *testing.T) {
	first, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, first)
	spec := echoSpec("orphan", 1, 1)
	if err := first.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 1)
	pid := replicaPid(t, first, spec.Ref)
	// A second daemon on the same state dir, as after a kill -9 of the first.
	second, _ := newTestRuntime(t, []string{bins.fake}, func(c *Config) { c.StateDir = first.cfg.StateDir })
	if err := second.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

func TestUsage(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	spec := echoSpec("busy", 1, 2)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 2)
	u, err := rt.Usage(t.Context(), spec.Ref)
	if err != nil || u.MemoryBytes < 1<<20 || u.CPU < 0 {
		t.Errorf("usage = %+v, %v", u, err)
	}
	if _, err := rt.Usage(t.Context(), runtime.Ref{Name: "x", Namespace: "y"}); err == nil {
		t.Error("usage of unknown function")
	}
}

// TestColdStart reports (without asserting) the time from Scale 0→1 to a
// pushed endpoint; bench/ measures it properly.
func TestColdStart(t *testing.T) {
	wd := []string{bins.fake}
	if bins.fjord != "" {
		wd = bins.fjordArgs
	}
	rt, _ := newTestRuntime(t, wd)
	eps := started(t, rt)
	spec := echoSpec("cold", 1, 0)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		start := time.Now()
		if err := rt.Scale(t.Context(), spec.Ref, 1); err != nil {
			t.Fatal(err)
		}
		ep := eps.wait(t, spec.Ref, 1)[0]
		ready := time.Since(start)
		post(t, ep, "x")
		t.Logf("run %d: ready after %v, first answer after %v (%s)", i, ready, time.Since(start), wd[0])
		rt.Scale(t.Context(), spec.Ref, 0)
		eps.wait(t, spec.Ref, 0)
	}
}

func TestReadyPath(t *testing.T) {
	tests := []struct {
		name      string
		fprocess  string
		wantReady bool
	}{
		{"answers 200", "cat", true},
		{"answers 500", "false", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t, []string{bins.fake})
			eps := started(t, rt)
			spec := echoSpec("probed", 1, 1)
			spec.Env["fprocess"] = tt.fprocess
			spec.ReadyPath = "/ready"
			if err := rt.Apply(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			if tt.wantReady {
				eps.wait(t, spec.Ref, 1)
				return
			}
			time.Sleep(300 * time.Millisecond) // proving a negative: give it time to go wrong
			st, _ := rt.Status(t.Context(), spec.Ref)
			if st.Available() != 0 || len(st.Replicas) != 1 || st.Replicas[0].State != runtime.StateStarting {
				t.Errorf("status = %+v, want one starting replica", st)
			}
			eps.wait(t, spec.Ref, 0)
		})
	}
}

func TestScaleDownStopsNewest(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	spec := echoSpec("order", 1, 1)
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	first := eps.wait(t, spec.Ref, 1)[0]
	if err := rt.Scale(t.Context(), spec.Ref, 3); err != nil {
		t.Fatal(err)
	}
	eps.wait(t, spec.Ref, 3)
	if err := rt.Scale(t.Context(), spec.Ref, 1); err != nil {
		t.Fatal(err)
	}
	if left := eps.wait(t, spec.Ref, 1)[0]; left.ID != first.ID {
		t.Errorf("kept %s, want the oldest %s", left.ID, first.ID)
	}
}

// TestUnhealthyReplicaRestarted: a replica that keeps failing its health check
// is taken out of rotation, then killed and restarted, and the status says why.
func TestUnhealthyReplicaRestarted(t *testing.T) {
	rt, _ := newTestRuntime(t, []string{bins.fake}, func(c *Config) { c.HealthInterval = 20 * time.Millisecond })
	started(t, rt)
	spec := echoSpec("hung", 1, 1)
	spec.Env["fake_unhealthy"] = "1"
	if err := rt.Apply(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := rt.Status(t.Context(), spec.Ref)
		if err == nil && len(st.Replicas) == 1 && st.Replicas[0].Restarts > 0 &&
			strings.Contains(st.Replicas[0].Message, "failed health checks") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v, want a restart after failed health checks", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
