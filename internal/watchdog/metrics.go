package watchdog

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the watchdog's Prometheus collectors on its own registry.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Requests handled by the watchdog, by status code and method.",
		}, []string{"code", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve a request, by status code and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"code", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "Requests being served right now.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *metrics) observe(code int, method string, d time.Duration) {
	c := statusText(code)
	m.requests.WithLabelValues(c, method).Inc()
	m.duration.WithLabelValues(c, method).Observe(d.Seconds())
}

// statusText avoids an allocation for the common codes.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 429:
		return "429"
	case 500:
		return "500"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}

// statusWriter records the status code and stamps X-Duration-Seconds on the
// response headers just before they are sent.
type statusWriter struct {
	http.ResponseWriter
	code  int
	start time.Time
}

var _ http.Flusher = (*statusWriter)(nil)

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
		h := s.ResponseWriter.Header()
		if _, ok := h["X-Duration-Seconds"]; !ok {
			h["X-Duration-Seconds"] = []string{formatSeconds(time.Since(s.start))}
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming modes push output as it comes.
func (s *statusWriter) Flush() {
	if s.code == 0 {
		s.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack keeps websocket upgrades working through the wrapper.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Unwrap exposes the inner writer to http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
}
