package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Run serves until ctx ends or SIGTERM arrives, then drains: it marks the
// watchdog unhealthy, removes the lock, waits healthcheck_interval and shuts the
// server down within write_timeout. In http mode an exiting function process
// ends Run with an error.
func (w *Watchdog) Run(ctx context.Context) error {
	started := time.Now()
	if w.cfg.MaxProcs > 0 {
		runtime.GOMAXPROCS(w.cfg.MaxProcs)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)

	ln, metricsSrv, err := w.setUp(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if w.readyFile != nil {
			_ = w.readyFile.Close() // unsignalled: the parent reads EOF, not "\n"
		}
	}()
	srv := &http.Server{
		Handler:      w,
		ReadTimeout:  w.cfg.ReadTimeout,
		WriteTimeout: w.cfg.WriteTimeout,
		ErrorLog:     log.New(w.cfg.Stderr, "", log.LstdFlags),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	w.accepting.Store(true)
	runErr := w.becomeReady()
	if runErr == nil {
		w.log.Info("watchdog ready", "addr", ln.Addr().String(), "fprocess", w.cfg.Process,
			"startup", time.Since(started).Round(time.Microsecond).String())
		runErr = w.wait(ctx, sigs, serveErr)
	}
	return errors.Join(runErr, w.shutdown(srv, metricsSrv, runErr == nil))
}

// setUp acquires the listener, the ready fd and the metrics server and, in
// http mode, starts the function process and waits until it accepts.
func (w *Watchdog) setUp(ctx context.Context) (net.Listener, *http.Server, error) {
	ln, err := w.listen()
	if err != nil {
		return nil, nil, err
	}
	if w.readyFile, err = inheritedFile(w.cfg.ReadyFD, "fjord-ready-"); err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	metricsSrv, err := w.startMetrics()
	if err == nil && w.proxy != nil {
		if err = w.proxy.start(ctx); err != nil {
			closeServer(metricsSrv)
		}
	}
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	return ln, metricsSrv, nil
}

// wait blocks until a reason to stop; nil means a graceful stop was asked for.
func (w *Watchdog) wait(ctx context.Context, sigs <-chan os.Signal, serveErr <-chan error) error {
	var childDone <-chan struct{}
	if w.proxy != nil {
		childDone = w.proxy.child.done
	}
	select {
	case <-ctx.Done():
		return nil
	case <-sigs:
		w.log.Info("received SIGTERM, draining", "healthcheck_interval", w.cfg.HealthcheckInterval)
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-childDone:
		return fmt.Errorf("function process exited: %s", exitText(w.proxy.child.err))
	}
}

// becomeReady writes the lock and tells the parent over the ready fd.
func (w *Watchdog) becomeReady() error {
	if err := w.writeLock(); err != nil {
		return err
	}
	return w.notifyReady()
}

// shutdown drains and stops the servers and the function process.
func (w *Watchdog) shutdown(srv, metricsSrv *http.Server, drain bool) error {
	w.accepting.Store(false)
	w.removeLock()
	if drain && w.cfg.HealthcheckInterval > 0 {
		time.Sleep(w.cfg.HealthcheckInterval)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.WriteTimeout)
	defer cancel()
	var err error
	if serr := srv.Shutdown(ctx); serr != nil {
		_ = srv.Close()
		err = fmt.Errorf("shut down http server: %w", serr)
	}
	closeServer(metricsSrv)
	w.reqLog.flush()
	if w.proxy != nil && w.proxy.child != nil {
		w.proxy.child.stop(w.cfg.WriteTimeout) // the function drains its own calls in flight
		w.proxy.transport.CloseIdleConnections()
	}
	w.log.Info("watchdog stopped")
	return err
}

// listen returns the configured listener, the inherited socket or a new one on port.
func (w *Watchdog) listen() (net.Listener, error) {
	if w.cfg.Listener != nil {
		return w.cfg.Listener, nil
	}
	if w.cfg.ListenFD >= 0 {
		f, err := inheritedFile(w.cfg.ListenFD, "fjord-listen-")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("use inherited listener fd %d: %w", w.cfg.ListenFD, err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(w.cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("listen on port %d: %w", w.cfg.Port, err)
	}
	return ln, nil
}

// startMetrics serves /metrics on metrics_port; nil when disabled.
func (w *Watchdog) startMetrics() (*http.Server, error) {
	if w.cfg.MetricsPort == 0 {
		return nil, nil
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(w.cfg.MetricsPort))
	if err != nil {
		return nil, fmt.Errorf("listen on metrics port %d: %w", w.cfg.MetricsPort, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", w.metrics.handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Warn("metrics server stopped", "err", err)
		}
	}()
	return srv, nil
}

func closeServer(srv *http.Server) {
	if srv != nil {
		_ = srv.Close()
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
