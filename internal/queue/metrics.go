package queue

import "github.com/prometheus/client_golang/prometheus"

// queueMetrics are the async call counters (fjord extensions, contract section 4).
type queueMetrics struct {
	acceptedC  *prometheus.CounterVec
	completedC *prometheus.CounterVec
	retriedC   *prometheus.CounterVec
	deadC      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, depth func() float64) *queueMetrics {
	m := &queueMetrics{
		acceptedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fjord_async_accepted_total", Help: "Async calls accepted and queued.",
		}, []string{"function_name"}),
		completedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fjord_async_completed_total", Help: "Async calls finished, by outcome (success or dead_letter).",
		}, []string{"function_name", "outcome"}),
		retriedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fjord_async_retried_total", Help: "Async call attempts that failed and were scheduled again.",
		}, []string{"function_name"}),
		deadC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fjord_async_dead_lettered_total", Help: "Async calls moved to the dead-letter queue.",
		}, []string{"function_name"}),
	}
	if reg != nil {
		reg.MustRegister(m.acceptedC, m.completedC, m.retriedC, m.deadC,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "fjord_async_queue_depth", Help: "Async calls queued or running.",
			}, depth))
	}
	return m
}

func (m *queueMetrics) accepted(fn string)           { m.acceptedC.WithLabelValues(fn).Inc() }
func (m *queueMetrics) completed(fn, outcome string) { m.completedC.WithLabelValues(fn, outcome).Inc() }
func (m *queueMetrics) retried(fn string)            { m.retriedC.WithLabelValues(fn).Inc() }
func (m *queueMetrics) deadLettered(fn string)       { m.deadC.WithLabelValues(fn).Inc() }
