// Package metrics holds the gateway's Prometheus collectors (contract section 4),
// registered on an injected registry, plus fjord's own in-memory call counts.
package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records gateway invocation metrics. It is safe for concurrent use.
// Function names are always "name.namespace".
type Metrics struct {
	invocations *prometheus.CounterVec
	seconds     *prometheus.HistogramVec
	started     *prometheus.CounterVec
	replicas    *prometheus.GaugeVec

	mu  sync.RWMutex
	fns map[string]*fnMetrics
}

// fnMetrics caches one function's curried children so the hot path does no
// label hashing after the first call.
type fnMetrics struct {
	name    string
	started prometheus.Counter
	calls   atomic.Uint64

	mu    sync.RWMutex
	codes map[int]*codeMetrics
}

type codeMetrics struct {
	total   prometheus.Counter
	seconds prometheus.Observer
}

// New creates the collectors and registers them on reg. It panics only if reg
// already holds collectors of the same names, which is a wiring bug.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_function_invocation_total",
			Help: "Completed function invocations by status code.",
		}, []string{"function_name", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_functions_seconds",
			Help:    "Function invocation duration in seconds.",
			Buckets: prometheus.DefBuckets,
		}, []string{"function_name", "code"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_function_invocation_started",
			Help: "Function invocations started.",
		}, []string{"function_name"}),
		replicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_service_count",
			Help: "Desired replicas of a function.",
		}, []string{"function_name"}),
		fns: make(map[string]*fnMetrics),
	}
	reg.MustRegister(m.invocations, m.seconds, m.started, m.replicas)
	return m
}

// Started counts a call to fn at its start.
func (m *Metrics) Started(fn string) {
	m.function(fn).started.Inc()
}

// Observe records a completed call to fn with its status code and duration.
func (m *Metrics) Observe(fn string, code int, d time.Duration) {
	f := m.function(fn)
	f.calls.Add(1)
	c := f.code(m, code)
	c.total.Inc()
	c.seconds.Observe(d.Seconds())
}

// SetReplicas sets the desired replica gauge of fn.
func (m *Metrics) SetReplicas(fn string, n int) {
	m.replicas.WithLabelValues(fn).Set(float64(n))
}

// Invocations is fjord's own count of completed calls to fn, all codes.
func (m *Metrics) Invocations(fn string) float64 {
	m.mu.RLock()
	f := m.fns[fn]
	m.mu.RUnlock()
	if f == nil {
		return 0
	}
	return float64(f.calls.Load())
}

// Forget drops fn's series and count, e.g. after the function is removed.
func (m *Metrics) Forget(fn string) {
	m.mu.Lock()
	delete(m.fns, fn)
	m.mu.Unlock()
	labels := prometheus.Labels{"function_name": fn}
	m.invocations.DeletePartialMatch(labels)
	m.seconds.DeletePartialMatch(labels)
	m.started.DeletePartialMatch(labels)
	m.replicas.DeletePartialMatch(labels)
}

func (m *Metrics) function(fn string) *fnMetrics {
	m.mu.RLock()
	f := m.fns[fn]
	m.mu.RUnlock()
	if f != nil {
		return f
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f = m.fns[fn]; f == nil {
		f = &fnMetrics{
			name:    fn,
			started: m.started.WithLabelValues(fn),
			codes:   make(map[int]*codeMetrics),
		}
		m.fns[fn] = f
	}
	return f
}

func (f *fnMetrics) code(m *Metrics, code int) *codeMetrics {
	f.mu.RLock()
	c := f.codes[code]
	f.mu.RUnlock()
	if c != nil {
		return c
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c = f.codes[code]; c == nil {
		s := strconv.Itoa(code)
		c = &codeMetrics{
			total:   m.invocations.WithLabelValues(f.name, s),
			seconds: m.seconds.WithLabelValues(f.name, s),
		}
		f.codes[code] = c
	}
	return c
}
