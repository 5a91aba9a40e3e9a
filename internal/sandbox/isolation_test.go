package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/testenv"
)

// probeReport mirrors the probe's JSON output.
type probeReport struct {
	UID, GID   int
	Pid        int
	Procs      []int
	Hostname   string
	CapEff     string
	Caps       map[string]string
	NoNewPrivs string
	Cwd        string
	FDs        map[int]bool
	Writes     map[string]string
	Reads      map[string]string
	KillParent string
	DevNull    string
}

// runProbe starts the probe with a ready pipe as fd 3, waits for it and
// decodes its report.
func runProbe(t *testing.T, s *Sandbox, l process.Launch) probeReport {
	t.Helper()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	out := &lockedBuffer{}
	l.ExtraFiles, l.Stdout = []*os.File{readyW}, out
	p := start(t, s, l)
	readyW.Close()
	ready, _ := io.ReadAll(readyR)
	info, err := p.Wait()
	if err != nil || info.Code != 0 {
		t.Fatalf("probe exit %+v, %v; stderr: %s", info, err, l.Stderr)
	}
	if string(ready) != "ready" {
		t.Errorf("fd 3 ready pipe got %q, want ready", ready)
	}
	var r probeReport
	if err := json.NewDecoder(bytes.NewReader([]byte(out.String()))).Decode(&r); err != nil {
		t.Fatalf("decode probe output %q: %v", out.String(), err)
	}
	return r
}

// checkCommon asserts what every sandboxed replica must see.
func checkCommon(t *testing.T, r probeReport, wantHost string) {
	t.Helper()
	checks := []struct {
		name      string
		got, want any
	}{
		{"uid", r.UID, 65534},
		{"gid", r.GID, 65534},
		{"pid", r.Pid, 1},
		{"procs", len(r.Procs), 1},
		{"hostname", r.Hostname, wantHost},
		{"capeff", r.CapEff, "0000000000000000"},
		{"capinh", r.Caps["CapInh"], "0000000000000000"},
		{"capprm", r.Caps["CapPrm"], "0000000000000000"},
		{"capbnd", r.Caps["CapBnd"], "0000000000000000"},
		{"capamb", r.Caps["CapAmb"], "0000000000000000"},
		{"no_new_privs", r.NoNewPrivs, "1"},
		{"fd3 open", r.FDs[3], true},
		{"fd4 closed", r.FDs[4], false},
		{"fd5 closed", r.FDs[5], false},
		{"fd6 closed", r.FDs[6], false},
		{"kill parent", r.KillParent, syscall.ESRCH.Error()},
		{"write /dev/null", r.DevNull, "ok"},
		{"write /tmp", r.Writes["/tmp/probe"], "ok"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestHostRootIsolation launches the way the process runtime does for a
// host-runtime bundle: the bundle and the root-only secrets live in the
// daemon's state dir (hidden), Dir is the host path of the function's files
// and Path is a program under the host's /tmp.
func TestHostRootIsolation(t *testing.T) {
	s := newTestSandbox(t, nil)
	t.Parallel()
	// The state lives outside /tmp, so hiding it is what protects it.
	state, err := os.MkdirTemp("/var/tmp", "fjord-sandbox-state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	s.cfg.HideDirs = []string{state}
	for _, fn := range []string{"a", "b"} {
		writeSecret(t, filepath.Join(state, "secrets", fn), "token", "secret-"+fn)
	}
	b := image.Bundle{RootFS: filepath.Join(state, "images", "fn"), WorkingDir: "/home/app", HostRuntime: true}
	dir := filepath.Join(b.RootFS, b.WorkingDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(state, "secrets", "b", "token")
	refused := []string{dir + "/out", "/etc/probe-out", "/probe-out", "/var/tmp/probe-out"}
	args := append(append([]string{"probe", itoa(os.Getpid()), "/tmp/probe"}, refused...),
		"--", "/var/openfaas/secrets/token", other)
	l := launch(t, "host-1", b, args...)
	l.Path, l.Dir, l.SecretsDir = probeBinary(t), dir, filepath.Join(state, "secrets", "a")
	l.Ref.Name = "hello"
	r := runProbe(t, s, l)
	checkCommon(t, r, "hello")
	for _, p := range refused {
		if got := r.Writes[p]; got == "ok" {
			t.Errorf("write %s succeeded, want it refused", p)
		}
	}
	if got := r.Reads["/var/openfaas/secrets/token"]; got != "secret-a" {
		t.Errorf("own secret = %q, want secret-a", got)
	}
	if got := r.Reads[other]; !strings.HasPrefix(got, "error:") {
		t.Errorf("other function's secret readable: %q", got)
	}
	if r.Cwd != dir {
		t.Errorf("cwd = %q, want %s", r.Cwd, dir)
	}
	for _, p := range []string{"/var/openfaas", dir + "/out", "/probe-out"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s leaked to the host", p)
		}
	}
}

// writeSecret writes a secret the way the process runtime does: root-only.
func writeSecret(t *testing.T, dir, name, value string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
}

func TestOwnRootOverlay(t *testing.T) {
	s := newTestSandbox(t, nil)
	testenv.Need(t, s.Capabilities().OwnRoot, "overlayfs unavailable")
	t.Parallel()
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, probeBinary(t), filepath.Join(rootfs, "probe"))
	secrets := filepath.Join(t.TempDir(), "secrets")
	writeSecret(t, secrets, "token", "s3")
	b := image.Bundle{RootFS: rootfs, WorkingDir: "/"}
	l := launch(t, "own-1", b, "probe", itoa(os.Getpid()), "/tmp/probe", "/probe-out",
		"--", "/var/openfaas/secrets/token", "/.fjord/fjord")
	l.Dir, l.SecretsDir, l.ReadOnlyRootFS = "/", secrets, true
	l.Binds = []process.Bind{{Host: probeBinary(t), Target: "/.fjord/fjord", ReadOnly: true}}
	r := runProbe(t, s, l)
	checkCommon(t, r, "own-1")
	if got := r.Writes["/probe-out"]; got == "ok" {
		t.Errorf("write to read-only root succeeded")
	}
	if got := r.Reads["/var/openfaas/secrets/token"]; got != "s3" {
		t.Errorf("secret = %q, want s3", got)
	}
	if got := r.Reads["/.fjord/fjord"]; strings.HasPrefix(got, "error:") {
		t.Errorf("bind /.fjord/fjord: %s", got)
	}
	entries, _ := os.ReadDir(rootfs)
	if len(entries) != 1 {
		t.Errorf("shared lower dir changed: %d entries, want only probe", len(entries))
	}
}

func TestStartReportsInitError(t *testing.T) {
	s := newTestSandbox(t, nil)
	t.Parallel()
	l := launch(t, "bad-1", hostBundle(t), "sleep")
	l.Path, l.Dir = "/home/app/missing", "/home/app"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := s.Start(ctx, l)
	if err == nil {
		p.Cleanup()
		t.Fatal("Start of a missing program succeeded")
	}
	if !strings.Contains(err.Error(), "exec") {
		t.Errorf("error %q does not mention exec", err)
	}
	if _, err := os.Stat(filepath.Join(s.cfg.CgroupRoot, "memory", s.cfg.CgroupPrefix, "bad-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup left after failed start: %v", err)
	}
}
