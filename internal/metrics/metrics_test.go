package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a counter or gauge child without testutil (whose dependencies are
// not in go.mod).
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var pb dto.Metric
	if err := (<-ch).Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.Started("fn.openfaas-fn")
	m.Started("fn.openfaas-fn")
	m.Observe("fn.openfaas-fn", 200, 20*time.Millisecond)
	m.Observe("fn.openfaas-fn", 502, time.Second)
	m.SetReplicas("fn.openfaas-fn", 3)

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"started", m.started.WithLabelValues("fn.openfaas-fn"), 2},
		{"code 200", m.invocations.WithLabelValues("fn.openfaas-fn", "200"), 1},
		{"code 502", m.invocations.WithLabelValues("fn.openfaas-fn", "502"), 1},
		{"replicas", m.replicas.WithLabelValues("fn.openfaas-fn"), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(t, tt.c); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := m.Invocations("fn.openfaas-fn"); got != 2 {
		t.Fatalf("Invocations = %v, want 2", got)
	}
	if got := m.Invocations("other.openfaas-fn"); got != 0 {
		t.Fatalf("Invocations(unknown) = %v, want 0", got)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gateway_functions_seconds" && len(mf.GetMetric()) != 2 {
			t.Fatalf("histogram series = %d, want 2", len(mf.GetMetric()))
		}
	}

	m.Forget("fn.openfaas-fn")
	if got := m.Invocations("fn.openfaas-fn"); got != 0 {
		t.Fatalf("Invocations after Forget = %v", got)
	}
	out, _ := reg.Gather()
	for _, mf := range out {
		if len(mf.GetMetric()) != 0 && strings.HasPrefix(mf.GetName(), "gateway_") {
			t.Fatalf("series left after Forget: %s", mf.GetName())
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.Started("fn.openfaas-fn")
		m.Observe("fn.openfaas-fn", 200, time.Millisecond)
	}
}
