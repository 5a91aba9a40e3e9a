package daemon

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startDebug serves Go's pprof profiles on cfg.DebugListen, a separate
// listener so that profiles never reach the gateway's port. It binds at once
// and reports a bad address; the server lives until the process exits.
func (d *Daemon) startDebug() error {
	if d.cfg.DebugListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", d.cfg.DebugListen)
	if err != nil {
		return fmt.Errorf("listen for --debug-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go d.debug.Serve(ln)
	d.log.Warn("serving Go profiles without auth", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	return nil
}
