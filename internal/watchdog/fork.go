package watchdog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// execContext bounds one forked invocation by exec_timeout.
func (w *Watchdog) execContext(r *http.Request) (context.Context, context.CancelFunc) {
	if w.cfg.ExecTimeout > 0 {
		return context.WithTimeout(r.Context(), w.cfg.ExecTimeout)
	}
	return context.WithCancel(r.Context())
}

// flushWriter pushes every write of the function to the client at once.
type flushWriter struct {
	rw http.ResponseWriter
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.rw.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// serveStreaming forks fprocess per request and streams its stdout as it
// comes; the 200 goes out before the function runs.
func (w *Watchdog) serveStreaming(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := w.execContext(r)
	defer cancel()
	rc := http.NewResponseController(rw)
	// Read the request body while the response is already streaming.
	_ = rc.EnableFullDuplex()
	stderr := newLineWriter(w.cfg.Stderr, "stderr", w.cfg.PrefixLogs)
	cmd := w.command(ctx, w.cgiEnv(r, false))
	cmd.Stdin = r.Body
	cmd.Stdout = &flushWriter{rw: rw, rc: rc}
	cmd.Stderr = stderr
	rw.Header().Set("Content-Type", w.cfg.ContentType)
	rw.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	err := cmd.Run()
	_ = stderr.Close()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		w.out.Printf("Killed process: exec_timeout %s exceeded", w.cfg.ExecTimeout)
	case err != nil:
		w.out.Printf("Function process failed: %s", err)
	}
}

// serveSerializing forks fprocess per request with the whole body on stdin
// and sends its whole stdout; any failure is a 500.
func (w *Watchdog) serveSerializing(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, "Failed to read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := w.execContext(r)
	defer cancel()
	stderr := newLineWriter(w.cfg.Stderr, "stderr", w.cfg.PrefixLogs)
	var out bytes.Buffer
	cmd := w.command(ctx, w.cgiEnv(r, false))
	cmd.Stdin = bytes.NewReader(body)
	cmd.Stdout = &out
	cmd.Stderr = stderr
	err = cmd.Run()
	_ = stderr.Close()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.out.Printf("Killed process: exec_timeout %s exceeded", w.cfg.ExecTimeout)
		http.Error(rw, "Killed process: exec_timeout exceeded.", http.StatusInternalServerError)
		return
	}
	if err != nil {
		w.out.Printf("Function process failed: %s", err)
		http.Error(rw, "Function process failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", w.cfg.ContentType)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(out.Bytes())
}
