package process

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// logDrainTimeout bounds the wait for a replica's output after it exited.
const logDrainTimeout = 2 * time.Second

// runOnce starts the replica's process, tracks its readiness and waits for it to end.
func (r *replica) runOnce() (ExitInfo, error) {
	f, rt := r.f, r.f.rt
	f.mu.Lock()
	r.starts++
	launchID := r.id
	if r.starts > 1 {
		launchID = r.id + "-" + strconv.Itoa(r.starts-1)
	}
	f.mu.Unlock()

	ph := NewPhases(rt.log.Enabled(context.Background(), slog.LevelDebug))
	l, addr, readyR, logR, err := rt.prepareLaunch(r, launchID)
	if err != nil {
		return ExitInfo{}, err
	}
	ph.Mark("prepare")
	defer rt.removeDirs(launchID)
	proc, err := rt.cfg.Sandbox.Start(context.Background(), l)
	closeFiles(l.ExtraFiles...)
	closeFiles(l.Stdout.(*os.File))
	if err != nil {
		closeFiles(readyR, logR)
		return ExitInfo{}, fmt.Errorf("start replica: %w", err)
	}
	ph.Mark("sandbox")
	logDone := make(chan struct{})
	go func() {
		f.logs.consume(logR, r.id)
		close(logDone)
	}()
	rt.writePidFile(launchID, proc.Pid())

	f.mu.Lock()
	r.proc, r.address, r.startedAt, r.state = proc, addr, time.Now(), runtime.StateStarting
	stopping := r.stopping
	f.mu.Unlock()
	if stopping {
		r.signal(proc, syscall.SIGTERM)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.watchReady(ctx, readyR, addr, launchID, ph)
	info, werr := proc.Wait()
	cancel()
	r.markExited() // drop the endpoint before draining logs and cleaning up
	if err := proc.Cleanup(); err != nil {
		rt.log.Warn("clean up replica failed", "replica", r.id, "err", err)
	}
	select {
	case <-logDone:
	case <-time.After(logDrainTimeout):
	}
	logR.Close()
	f.logs.closeInstance(r.id)
	f.mu.Lock()
	r.proc = nil
	f.mu.Unlock()
	rt.removePidFile(launchID)
	return info, werr
}

func (r *replica) markExited() {
	f := r.f
	f.mu.Lock()
	if r.stopping || r.state != runtime.StateReady {
		f.mu.Unlock()
		return
	}
	r.state = runtime.StateCrashed
	f.mu.Unlock()
	f.publish()
}

// prepareLaunch makes the replica's dirs, listening socket and pipes.
func (rt *Runtime) prepareLaunch(r *replica, launchID string) (l Launch, addr string, readyR, logR *os.File, err error) {
	rev := r.rev
	workDir := rt.path("work", launchID)
	if err = os.MkdirAll(filepath.Join(workDir, "tmp"), 0o700); err != nil {
		return l, "", nil, nil, fmt.Errorf("create work dir: %w", err)
	}
	// Secrets sit next to the work dir: a sandbox hides the work dirs' parent,
	// so no replica sees another's secrets on the host.
	secretsDir, err := writeSecrets(rt.path("work", launchID+".secrets"), rev.spec.Secrets)
	if err != nil {
		rt.removeDirs(launchID)
		return l, "", nil, nil, err
	}
	lnFile, addr, port, err := listen(rev.fjordWatchdog)
	if err != nil {
		rt.removeDirs(launchID)
		return l, "", nil, nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		closeFiles(lnFile)
		rt.removeDirs(launchID)
		return l, "", nil, nil, fmt.Errorf("create ready pipe: %w", err)
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		closeFiles(lnFile, readyR, readyW)
		rt.removeDirs(launchID)
		return l, "", nil, nil, fmt.Errorf("create log pipe: %w", err)
	}
	l = Launch{
		ReplicaID: launchID, Ref: r.f.ref, Bundle: rev.bundle,
		Path: rev.path, Args: rev.args, Dir: rev.dir,
		Env:     replicaEnv(rev, rt.caps, r.id, workDir, secretsDir, port),
		WorkDir: workDir, SecretsDir: secretsDir, Binds: rev.binds,
		ReadOnlyRootFS: rev.spec.ReadOnlyRootFS, Limits: rev.spec.Limits,
		Stdout: logW, Stderr: logW,
	}
	if lnFile != nil {
		l.ExtraFiles = []*os.File{lnFile, readyW}
	} else {
		readyW.Close() // readiness is polled: the reader sees EOF at once
	}
	return l, addr, readyR, logR, nil
}

// listen opens the replica's socket. A fjord watchdog inherits an abstract
// Unix socket: the daemon's calls to it and its health checks cost less than
// over loopback TCP (see internal/sockaddr). A watchdog that cannot inherit
// a socket gets a free loopback port, only reserved here and closed again.
func listen(inherit bool) (*os.File, string, int, error) {
	if inherit {
		addr, err := sockaddr.NewAbstract("fjord-replica")
		if err != nil {
			return nil, "", 0, err
		}
		f, err := sockaddr.ListenFile(addr)
		if err != nil {
			return nil, "", 0, fmt.Errorf("listen for replica: %w", err)
		}
		return f, addr, 0, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", 0, fmt.Errorf("listen for replica: %w", err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	return nil, addr.String(), addr.Port, nil
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// removeDirs deletes a replica start's work and secrets dirs.
func (rt *Runtime) removeDirs(launchID string) {
	for _, d := range []string{rt.path("work", launchID), rt.path("work", launchID+".secrets")} {
		os.Chmod(d, 0o700) // secrets dirs are read-only
		if err := os.RemoveAll(d); err != nil {
			rt.log.Warn("remove replica dir failed", "dir", d, "err", err)
		}
	}
}
