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
	lines     sync.Pool // *[]byte for request log lines
	reqLog    *requestLog
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
		reqLog:  newRequestLog(cfg.Stderr, cfg.RequestLogDelay),
	}
	w.writers.New = func() any { return new(statusWriter) }
	w.lines.New = func() any { b := make([]byte, 0, 256); return &b }
	if len(w.argv) > 0 {
		w.path = w.argv[0]
		if p, err := exec.LookPath(w.argv[0]); err == nil {
			w.path = p // else each fork reports the error
		}
	}
	switch cfg.Mode {
	case ModeClassic:
		w.handle = w.serveClassic
	case ModeStreaming:
		w.handle = w.serveStreaming
	case ModeSerializing:
		w.handle = w.serveSerializing
	case ModeStatic:
		w.handle = http.FileServer(http.Dir(cfg.StaticPath)).ServeHTTP
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

// logRequest writes the of-watchdog style request line from a reused buffer.
func (w *Watchdog) logRequest(r *http.Request, code int, d time.Duration) {
	bp := w.lines.Get().(*[]byte)
	b := time.Now().AppendFormat((*bp)[:0], "2006/01/02 15:04:05 ")
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.RequestURI...)
	b = append(b, " - "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, " - ContentLength: "...)
	b = strconv.AppendInt(b, r.ContentLength, 10)
	b = append(b, "B ("...)
	b = strconv.AppendFloat(b, d.Seconds(), 'f', 4, 64)
	b = append(b, "s)"...)
	if w.cfg.LogCallID {
		b = append(b, " ["...)
		b = append(b, r.Header.Get("X-Call-Id")...)
		b = append(b, ']')
	}
	b = append(b, '\n')
	w.reqLog.add(b)
	*bp = b
	w.lines.Put(bp)
}
