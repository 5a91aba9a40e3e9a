package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// writePidFile records a replica's pid and start time so that a later run can
// kill it if the daemon died without stopping it.
func (rt *Runtime) writePidFile(launchID string, pid int) {
	st, err := readProcStat(pid)
	if err != nil {
		rt.log.Warn("read replica start time failed", "replica", launchID, "err", err)
		return
	}
	dir := rt.path("run")
	data := fmt.Sprintf("%d %d\n", pid, st.startTime)
	if err := os.MkdirAll(dir, 0o750); err == nil {
		err = os.WriteFile(filepath.Join(dir, launchID+".pid"), []byte(data), 0o640)
	}
	if err != nil {
		rt.log.Warn("write pid file failed", "replica", launchID, "err", err)
	}
}

func (rt *Runtime) removePidFile(launchID string) {
	err := os.Remove(rt.path("run", launchID+".pid"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		rt.log.Warn("remove pid file failed", "replica", launchID, "err", err)
	}
}

// cleanupStale kills replicas an earlier run left behind (only when pid and
// start time still match, so a reused pid is never hit), lets the sandbox
// clean up, and removes old work and secrets dirs.
func (rt *Runtime) cleanupStale(ctx context.Context) error {
	files, _ := filepath.Glob(rt.path("run", "*.pid"))
	for _, p := range files {
		if pid, ok := stalePid(p); ok {
			errGroup := syscall.Kill(-pid, syscall.SIGKILL)
			errLeader := syscall.Kill(pid, syscall.SIGKILL)
			if errGroup == nil || errLeader == nil {
				rt.log.Info("killed leftover replica", "pid", pid, "file", filepath.Base(p))
			}
		}
		os.Remove(p)
	}
	if err := rt.cfg.Sandbox.CleanupStale(ctx); err != nil {
		return fmt.Errorf("clean up stale sandboxes: %w", err)
	}
	for _, dir := range []string{"work"} {
		entries, _ := os.ReadDir(rt.path(dir))
		for _, e := range entries {
			p := rt.path(dir, e.Name())
			os.Chmod(p, 0o700)
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("remove stale dir: %w", err)
			}
		}
	}
	for _, dir := range []string{"run", "work", "logs"} {
		if err := os.MkdirAll(rt.path(dir), 0o750); err != nil {
			return fmt.Errorf("create state dir: %w", err)
		}
	}
	return nil
}

// stalePid reads a pid file and reports whether that process group may still
// hold our processes: the leader runs with the recorded start time, or it is
// gone (a pid is not reused while a group of that id exists, so any members left
// are ours).
func stalePid(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 1 {
		return 0, false
	}
	st, err := readProcStat(pid)
	if err == nil && st.startTime != start {
		return 0, false // pid reused by another process
	}
	return pid, true
}
