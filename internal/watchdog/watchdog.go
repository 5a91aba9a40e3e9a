package watchdog

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Watchdog serves a function over HTTP in one of the watchdog modes.
type Watchdog struct {
	cfg     Config
	argv    []string
	path    string // argv[0] resolved once through PATH
	log     *slog.Logger
	out     *log.Logger // watchdog lines with the standard date/time prefix, to Stderr
	metrics *metrics
	// handle serves one function request in the configured mode.
	handle    http.HandlerFunc
	proxy     *proxy // http mode only
	inflight  atomic.Int64
	accepting atomic.Bool
	readyFile *os.File  // pending ready notification (fjord_ready_fd)
	writers   sync.Pool // *statusWriter
}

// New builds a watchdog from a validated configuration. It starts nothing.
func New(cfg Config, logger *slog.Logger) (*Watchdog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validate watchdog config: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Stdout == nil || cfg.Stderr == nil {
		d := Default()
		cfg.Stdout, cfg.Stderr = d.Stdout, d.Stderr
	}
	if cfg.LockPath == "" {
		cfg.LockPath = DefaultLockPath()
	}
	w := &Watchdog{
		cfg:     cfg,
		argv:    splitCommand(cfg.Process),
		log:     logger.With("component", "watchdog", "mode", string(cfg.Mode)),
		out:     log.New(cfg.Stderr, "", log.LstdFlags),
		metrics: newMetrics(),
	}
	w.writers.New = func() any { return new(statusWriter) }
	w.path = w.argv[0]
	if p, err := exec.LookPath(w.argv[0]); err == nil {
		w.path = p // else each fork reports the error
	}
	switch cfg.Mode {
	case ModeClassic:
		w.handle = w.serveClassic
	case ModeStreaming:
		w.handle = w.serveStreaming
	case ModeSerializing:
		w.handle = w.serveSerializing
	case ModeHTTP:
		w.proxy = newProxy(w)
		w.handle = w.proxy.serve
	}
	return w, nil
}

// ServeHTTP routes the watchdog's own paths and hands the rest to the function.
func (w *Watchdog) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_/health":
		w.serveHealth(rw, r)
		return
	case "/_/ready":
		w.serveReady(rw, r)
		return
	}
	n := w.inflight.Add(1)
	defer w.inflight.Add(-1)
	w.metrics.inflight.Inc()
	defer w.metrics.inflight.Dec()

	sw := w.writers.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: rw, start: time.Now()}
	if max := w.cfg.MaxInflight; max > 0 && n > int64(max) {
		sw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		sw.WriteHeader(http.StatusTooManyRequests)
		_, _ = sw.Write([]byte("Concurrent request limit exceeded. Max concurrent requests: " + strconv.Itoa(max) + "\n"))
	} else {
		w.handle(sw, r)
	}
	code := sw.code
	if code == 0 {
		code = http.StatusOK
	}
	d := time.Since(sw.start)
	*sw = statusWriter{}
	w.writers.Put(sw)
	w.metrics.observe(code, r.Method, d)
	if w.cfg.Mode != ModeClassic {
		w.logRequest(r, code, d)
	}
}

// logRequest writes the of-watchdog style request line.
func (w *Watchdog) logRequest(r *http.Request, code int, d time.Duration) {
	line := r.Method + " " + r.URL.RequestURI() + " - " + strconv.Itoa(code) + " " + http.StatusText(code) +
		" - ContentLength: " + strconv.FormatInt(r.ContentLength, 10) + "B (" + strconv.FormatFloat(d.Seconds(), 'f', 4, 64) + "s)"
	if w.cfg.LogCallID {
		line += " [" + r.Header.Get("X-Call-Id") + "]"
	}
	w.out.Print(line)
}
