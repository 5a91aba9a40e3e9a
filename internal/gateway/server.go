// Package gateway is fjord's HTTP front door: the OpenFaaS system API, the
// invoke and async routes, metrics, health and the dashboard (contract section 1).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-faas/fjord/internal/metrics"
	"github.com/fjord-faas/fjord/internal/router"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// Invoker proxies one call to a function; *router.Router implements it.
type Invoker interface {
	// ServeFunction forwards r to a replica of ref; path is the escaped remainder
	// after /function/NAME ("" for none).
	ServeFunction(w http.ResponseWriter, r *http.Request, ref runtime.Ref, path string)
}

// Auth configures basic authentication of /system/* and /ui/ (contract section 8).
type Auth struct {
	Enabled  bool
	User     string
	Password string
}

// Config configures the gateway.
type Config struct {
	// Addr is the listen address, e.g. ":8080" or "127.0.0.1:0".
	Addr string
	// Control is the control plane behind /system/*. Required.
	Control Control
	// Functions is used to build a Router when Router is nil.
	Functions Functions
	// Router serves /function/…; nil builds a router.Router from Functions and Metrics.
	Router Invoker
	// Metrics feeds invocationCount in the function list; nil reports none.
	Metrics *metrics.Metrics
	// Registry is served at /metrics; nil leaves /metrics unrouted (404).
	Registry *prometheus.Registry
	// OCI is the embedded registry, mounted at /v2/ (it does its own auth); nil → 404.
	OCI http.Handler
	// Async takes POST /async-function/… and the dead-letter API under
	// /system/async/ (see NewAsync); nil → 501.
	Async http.Handler
	// Alert takes POST /system/alert (AlertManager webhook); nil → 501.
	Alert http.Handler
	// Auth protects /system/* and /ui/.
	Auth Auth
	// MaxBodyBytes caps system API request bodies (413 above it).
	MaxBodyBytes int64
	// Logger receives request failures; nil discards them.
	Logger *slog.Logger
	// HeaderTimeout bounds reading a request head once it has begun (0: 30 s).
	HeaderTimeout time.Duration
	// NoFront serves every request with net/http; by default the gateway's
	// own connection loop serves plain function calls (see front.go).
	NoFront bool
}

// Default returns the default configuration: :8080, auth on for user admin
// (the password still has to be set), 1 MiB bodies.
func Default() Config {
	return Config{
		Addr:         ":8080",
		Auth:         Auth{Enabled: true, User: "admin"},
		MaxBodyBytes: 1 << 20,
	}
}

// Validate reports a configuration the gateway cannot serve with.
func (c Config) Validate() error {
	switch {
	case c.Control == nil:
		return errors.New("gateway: Control is required")
	case c.Router == nil && c.Functions == nil:
		return errors.New("gateway: Router or Functions is required")
	case c.MaxBodyBytes < 0:
		return errors.New("gateway: MaxBodyBytes must not be negative")
	case c.Auth.Enabled && (c.Auth.User == "" || c.Auth.Password == ""):
		return errors.New("gateway: auth is enabled but the user or password is empty")
	}
	return nil
}

// Server is the gateway HTTP server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	router  Invoker
	owned   *router.Router // built by New, closed by Close
	handler http.Handler
	srv     *http.Server
	ln      net.Listener
	front   *front
	baseCtx context.Context
}

// New builds the server and its routes; it does not listen.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = 30 * time.Second
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = Default().MaxBodyBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "gateway"), router: cfg.Router, baseCtx: context.Background()}
	if s.router == nil {
		s.owned = router.New(router.Config{Functions: cfg.Functions, Metrics: cfg.Metrics, Logger: log})
		s.router = s.owned
	}
	s.handler = s.routes()
	if t, ok := s.router.(requestTracker); ok {
		s.handler = tracked(s.handler, t)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		// No read/write timeouts: calls and log streams last as long as the
		// function's own timeout, which the router enforces.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// requestTracker is told of every request the root handler serves
// (router.Router's BeginRequest and EndRequest: its spin-wait needs to know
// how busy the whole gateway is).
type requestTracker interface {
	BeginRequest()
	EndRequest()
}

func tracked(h http.Handler, t requestTracker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.BeginRequest()
		defer t.EndRequest()
		h.ServeHTTP(w, r)
	})
}

// Handler returns the gateway's root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Start binds the listen address and serves in the background; it returns once
// the gateway accepts connections.
func (s *Server) Start(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	var httpLn net.Listener = ln
	if !s.cfg.NoFront {
		s.front = newFront(s, ln)
		httpLn = s.front.handoff
		go func() {
			if err := s.front.serve(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("accept failed", "err", err)
			}
		}()
	}
	go func() {
		if err := s.srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve failed", "err", err)
		}
	}()
	s.log.Info("gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address once started (the real port for ":0"),
// else the configured one.
func (s *Server) Addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Close stops accepting connections and waits for in-flight calls to finish
// until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	var ferr error
	if s.front != nil {
		ferr = s.front.shutdown(ctx)
	}
	err := errors.Join(ferr, s.srv.Shutdown(ctx))
	if s.owned != nil {
		_ = s.owned.Close(ctx)
	}
	if err != nil {
		return fmt.Errorf("shut down gateway: %w", err)
	}
	return nil
}
