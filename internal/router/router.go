// Package router is the invoke hot path: it keeps each function's ready
// endpoints (pushed by the runtime), holds calls to a function scaled to zero
// until a replica is ready, balances over replicas by least in-flight calls and
// proxies each call through a shared keep-alive transport. When a replica's
// endpoint has a Direct address, calls go straight to the function's own server
// and the router does what the watchdog would have: X-Duration-Seconds on the
// response and the function's timeout (504 with X-Fjord-Timeout: 1).
package router

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjord-faas/fjord/internal/metrics"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
	"github.com/fjord-faas/fjord/internal/version"
)

// FunctionInfo is what the invoke path needs to know about a function, from memory.
// gateway.FunctionInfo is an alias of it.
type FunctionInfo struct {
	// Timeout is the function's own limit (from its exec_timeout / write_timeout env),
	// used for the gateway's upstream timeout and the scale-from-zero wait. On the
	// direct path (runtime.Endpoint.Direct) the router enforces it with a 504.
	Timeout time.Duration
	// ReadyPath is the readiness path annotation, if any.
	ReadyPath string
}

// Functions is the in-memory function lookup the router uses; control.Service
// implements it. gateway.Functions has the same methods.
type Functions interface {
	// Lookup reports whether the function exists, without disk I/O.
	Lookup(ref runtime.Ref) (FunctionInfo, bool)
	// WakeUp makes sure a function scaled to zero gets max(min,1) desired replicas.
	// Concurrent callers are fine; it returns once the new target is stored.
	WakeUp(ctx context.Context, ref runtime.Ref) error
}

// Config configures a Router.
type Config struct {
	// Functions answers whether a function exists and wakes it from zero. Required.
	Functions Functions
	// Metrics records invocations; nil disables metrics.
	Metrics *metrics.Metrics
	// Logger receives proxy errors; nil discards them.
	Logger *slog.Logger
	// MaxIdleConnsPerHost bounds the idle keep-alive connections kept per replica.
	MaxIdleConnsPerHost int
	// DefaultTimeout applies to functions whose FunctionInfo.Timeout is zero.
	DefaultTimeout time.Duration
	// TimeoutMargin is added to a function's timeout for a call through the
	// watchdog, so the watchdog's own 504 reaches the caller before the gateway
	// gives up. Direct calls get no margin: the router is the one to answer 504.
	TimeoutMargin time.Duration
	// SpinWait is how long a call may poll the replica's socket for the answer
	// instead of sleeping, at low load and for functions that answer within it
	// (see spin.go); 0 never spins. Default sets DefaultSpinWait; New leaves a
	// zero value alone.
	SpinWait time.Duration
	// Transport overrides the pooled transport (tests); nil builds one.
	Transport http.RoundTripper
}

// Default returns the default configuration (Functions still has to be set).
func Default() Config {
	return Config{
		MaxIdleConnsPerHost: 256,
		DefaultTimeout:      60 * time.Second,
		TimeoutMargin:       time.Second,
		SpinWait:            DefaultSpinWait,
	}
}

// Validate reports a configuration the router cannot work with.
func (c Config) Validate() error {
	switch {
	case c.Functions == nil:
		return errors.New("router: Functions is required")
	case c.MaxIdleConnsPerHost < 0, c.DefaultTimeout < 0, c.TimeoutMargin < 0, c.SpinWait < 0:
		return errors.New("router: negative limits")
	}
	return nil
}

// Router routes calls to function replicas. It is safe for concurrent use.
type Router struct {
	cfg       Config
	log       *slog.Logger
	transport http.RoundTripper
	proxy     *httputil.ReverseProxy
	calls     sync.Pool
	bufs      *bufferPool
	userAgent string
	servedBy  []string // shared header value; net/http only reads it

	inflight atomic.Int64 // calls in ServeFunction, all functions (counted while spinning is on)
	others   atomic.Int64 // other requests the gateway is serving (BeginRequest; likewise)
	spin     *spinPolicy

	mu  sync.RWMutex
	fns map[runtime.Ref]*function
}

// New creates a Router; zero fields of cfg take their Default values.
func New(cfg Config) *Router {
	def := Default()
	if cfg.MaxIdleConnsPerHost == 0 {
		cfg.MaxIdleConnsPerHost = def.MaxIdleConnsPerHost
	}
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = def.DefaultTimeout
	}
	if cfg.TimeoutMargin == 0 {
		cfg.TimeoutMargin = def.TimeoutMargin
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, log: log.With("component", "router"), fns: make(map[runtime.Ref]*function)}
	r.spin = newSpinPolicy(cfg.SpinWait, goruntime.GOMAXPROCS(0))
	r.userAgent = version.UserAgent()
	r.servedBy = []string{r.userAgent}
	r.transport = cfg.Transport
	if r.transport == nil {
		r.transport = newTransport(cfg.MaxIdleConnsPerHost)
	}
	r.calls.New = func() any { return new(call) }
	r.bufs = newBufferPool()
	r.proxy = &httputil.ReverseProxy{
		Rewrite:   r.rewrite,
		Transport: r.transport,
		// 0 still flushes at once for text/event-stream and for bodies of unknown
		// length (chunked NDJSON, streams); only known-length bodies are written in
		// 32 KiB chunks, which saves a flush syscall per call on the hot path.
		FlushInterval:  0,
		BufferPool:     r.bufs,
		ModifyResponse: r.modifyResponse,
		ErrorHandler:   r.proxyError,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
	return r
}

func newTransport(idlePerHost int) *http.Transport {
	return &http.Transport{
		// Requests carry sockaddr.URLHost(target): this dials TCP or the Unix socket.
		DialContext: (&sockaddr.Dialer{Dialer: net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}}).DialContext,
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The body must reach the caller exactly as the function wrote it.
		DisableCompression: true,
	}
}

// Close drops idle upstream connections.
func (r *Router) Close(ctx context.Context) error {
	r.mu.RLock()
	for _, f := range r.fns {
		for _, ep := range f.set.Load().eps {
			ep.pool.close()
		}
	}
	r.mu.RUnlock()
	if t, ok := r.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// UpdateEndpoints replaces the ready endpoints of a function; it is a
// runtime.EndpointListener and never blocks.
func (r *Router) UpdateEndpoints(ref runtime.Ref, eps []runtime.Endpoint) {
	r.function(ref).update(eps)
}

// function returns the routing state of ref, creating it on first use.
func (r *Router) function(ref runtime.Ref) *function {
	r.mu.RLock()
	f := r.fns[ref]
	r.mu.RUnlock()
	if f != nil {
		return f
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f = r.fns[ref]; f == nil {
		f = newFunction(ref)
		r.fns[ref] = f
	}
	return f
}

// bufferPool reuses the proxy's copy buffers across calls.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	b := &bufferPool{}
	b.p.New = func() any { return make([]byte, 32*1024) }
	return b
}

func (b *bufferPool) Get() []byte { return b.p.Get().([]byte) }

// Put boxes the slice header (24 bytes), which beats a 32 KiB buffer per call.
func (b *bufferPool) Put(p []byte) { b.p.Put(p) }
