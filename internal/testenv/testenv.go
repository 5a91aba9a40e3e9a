// Package testenv holds test helpers shared across packages: environment checks
// that skip locally but fail in CI, and a once-per-process build of the fjord binary.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true or 1), where nothing may skip
// for a missing prerequisite: CI installs and starts everything.
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Need skips the test with reason when ok is false, or fails it under CI.
func Need(t testing.TB, ok bool, reason string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("prerequisite missing in CI: %s", reason)
	}
	t.Skip("skipped: " + reason)
}

// NeedRoot needs uid 0 (namespaces, cgroups, mounts).
func NeedRoot(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root (namespaces, cgroups and mounts)")
}

// NeedCommand needs an executable on PATH.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Need(t, err == nil, name+" is not installed")
	return p
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FjordBinary builds ./cmd/fjord once per test process and returns its path.
// FJORD_BIN, when set, names a prebuilt binary to use instead.
func FjordBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FJORD_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fjord-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "fjord")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/fjord")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Dir = ModuleRoot(t)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build fjord: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}
