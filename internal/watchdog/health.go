package watchdog

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// LockExists reports whether the lock file at path exists; it backs
// `fjord watchdog --run-healthcheck` and the `[ -e /tmp/.lock ]` checks.
func LockExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeLock creates the lock file unless suppress_lock is set.
func (w *Watchdog) writeLock() error {
	if w.cfg.SuppressLock {
		return nil
	}
	if err := os.WriteFile(w.cfg.LockPath, nil, 0o660); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

func (w *Watchdog) removeLock() {
	if w.cfg.SuppressLock {
		return
	}
	if err := os.Remove(w.cfg.LockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.Warn("remove lock file failed", "path", w.cfg.LockPath, "err", err)
	}
}

// healthy is true while accepting work and the lock (if used) is present.
func (w *Watchdog) healthy() bool {
	if !w.accepting.Load() {
		return false
	}
	return w.cfg.SuppressLock || LockExists(w.cfg.LockPath)
}

// serveHealth answers GET /_/health.
func (w *Watchdog) serveHealth(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !w.healthy() {
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rw.Header().Set("Content-Type", "text/plain")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write([]byte("OK"))
}

// serveReady answers /_/ready: 503 unhealthy, 429 at the limit, else the
// function's ready_path (http mode) or 200.
func (w *Watchdog) serveReady(rw http.ResponseWriter, r *http.Request) {
	if !w.healthy() {
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if max := w.cfg.MaxInflight; max > 0 && w.inflight.Load() >= int64(max) {
		rw.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if w.proxy != nil && w.cfg.ReadyPath != "" {
		rw.WriteHeader(w.proxy.probe(r.Context(), w.cfg.ReadyPath))
		return
	}
	rw.WriteHeader(http.StatusOK)
}

// notifyReady writes the ready message to the inherited ready fd and closes it:
// "upstream=ADDR\n" (HOST:PORT or unix:@NAME) when calls may go straight to the function process
// (see directUpstream), else a bare "\n".
func (w *Watchdog) notifyReady() error {
	if w.readyFile == nil {
		return nil
	}
	f := w.readyFile
	w.readyFile = nil
	msg := "\n"
	if up := w.directUpstream(); up != "" {
		msg = "upstream=" + up + "\n"
	}
	_, err := f.Write([]byte(msg))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write ready fd: %w", err)
	}
	return nil
}

// inheritedFile wraps an inherited fd and marks it close-on-exec so the
// function process never inherits it.
func inheritedFile(fd int, name string) (*os.File, error) {
	if fd < 0 {
		return nil, nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("use inherited fd %d: %w", fd, err)
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name+strconv.Itoa(fd)), nil
}

// directUpstream is the function process's address (loopback host:port or
// abstract Unix socket) when a caller
// may bypass the watchdog: http mode with fjord_auto_upstream, and nothing
// configured that only the watchdog's data path enforces (max_inflight,
// request body buffering, call ids in the request log). "" otherwise.
func (w *Watchdog) directUpstream() string {
	c := w.cfg
	if w.proxy == nil || !c.AutoUpstream || w.proxy.target == nil ||
		c.MaxInflight > 0 || c.BufferBody || c.LogCallID {
		return ""
	}
	return w.proxy.addr
}
