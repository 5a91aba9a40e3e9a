package process

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime"
)

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestReplicaEnv(t *testing.T) {
	t.Setenv("FJORD_DAEMON_SECRET", "leak")
	bundle := image.Bundle{Env: []string{"PATH=/img/bin", "shadowed=image", "only_image=1"}, HostRuntime: true}
	tests := []struct {
		name     string
		bundle   image.Bundle
		specEnv  map[string]string
		caps     SandboxCaps
		fjordWD  bool
		want     map[string]string
		wantNone []string
	}{
		{
			name: "plain with fjord watchdog", bundle: bundle, caps: PlainSandbox{}.Capabilities(), fjordWD: true,
			specEnv: map[string]string{"shadowed": "spec", "fprocess": "cat"},
			want: map[string]string{
				"PATH": "/img/bin", "shadowed": "spec", "only_image": "1", "fprocess": "cat",
				"HOSTNAME": "fn-abc", "TMPDIR": "/state/work/fn-abc/tmp", "metrics_port": "0",
				"healthcheck_interval": "0s", "fjord_listen_fd": "3", "fjord_ready_fd": "4",
				"fjord_auto_upstream": "1", "fjord_secrets_dir": "/state/secrets/fn-abc",
			},
			wantNone: []string{"port", "FJORD_DAEMON_SECRET"},
		},
		{
			name: "function settings win", caps: PlainSandbox{}.Capabilities(), fjordWD: true,
			specEnv: map[string]string{"healthcheck_interval": "5s", "metrics_port": "9000", "HOSTNAME": "mine"},
			want: map[string]string{
				"PATH": defaultPath, "healthcheck_interval": "5s", "metrics_port": "9000", "HOSTNAME": "fn-abc",
			},
		},
		{
			name: "sandboxed upstream watchdog", caps: SandboxCaps{Isolation: "namespaces", OwnRoot: true},
			want:     map[string]string{"TMPDIR": "/tmp", "port": "41000"},
			wantNone: []string{"fjord_listen_fd", "fjord_ready_fd", "fjord_secrets_dir"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := &revision{spec: runtime.FunctionSpec{Env: tt.specEnv}, bundle: tt.bundle, fjordWatchdog: tt.fjordWD}
			got := envMap(replicaEnv(rev, tt.caps, "fn-abc", "/state/work/fn-abc", "/state/secrets/fn-abc", 41000))
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.wantNone {
				if _, ok := got[k]; ok {
					t.Errorf("%s is set (%q), want unset", k, got[k])
				}
			}
		})
	}
}

func TestNewRevision(t *testing.T) {
	wd := []string{"/usr/bin/fjord", "watchdog"}
	spec := runtime.FunctionSpec{Image: "reg/app:1"}
	tests := []struct {
		name      string
		bundle    image.Bundle
		caps      SandboxCaps
		wantErr   error
		wantPath  string
		wantArgs  []string
		wantDir   string
		wantBinds int
		wantFjord bool
	}{
		{name: "host runtime", bundle: image.Bundle{RootFS: "/b", WorkingDir: "/home/app", HostRuntime: true},
			wantPath: "/usr/bin/fjord", wantArgs: wd, wantDir: "/b/home/app", wantFjord: true},
		{name: "own root without sandbox", bundle: image.Bundle{RootFS: "/b"}, wantErr: runtime.ErrUnsupported},
		{name: "own root with fwatchdog", caps: SandboxCaps{OwnRoot: true},
			bundle:   image.Bundle{RootFS: "/b", WorkingDir: "/home/app", Cmd: []string{"fwatchdog"}},
			wantPath: "fwatchdog", wantArgs: []string{"fwatchdog"}, wantDir: "/home/app"},
		{name: "own root without watchdog", caps: SandboxCaps{OwnRoot: true},
			bundle:   image.Bundle{RootFS: "/b", Entrypoint: []string{"python3"}, Cmd: []string{"index.py"}},
			wantPath: fjordInRoot, wantArgs: []string{fjordInRoot, "watchdog"}, wantDir: "/", wantBinds: 1, wantFjord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := newRevision(spec, tt.bundle, tt.caps, wd)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "carries its own root filesystem") {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rev.path != tt.wantPath || !slices.Equal(rev.args, tt.wantArgs) || rev.dir != tt.wantDir ||
				len(rev.binds) != tt.wantBinds || rev.fjordWatchdog != tt.wantFjord {
				t.Errorf("got path %q args %q dir %q binds %v fjord %v", rev.path, rev.args, rev.dir, rev.binds, rev.fjordWatchdog)
			}
		})
	}
}

func TestWriteSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	data := []byte("  exact\x00bytes\n\n")
	got, err := writeSecrets(dir, []runtime.SecretFile{{Name: "api-key", Data: data}})
	if err != nil || got != dir {
		t.Fatalf("writeSecrets = %q, %v", got, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "api-key"))
	if err != nil || string(b) != string(data) {
		t.Errorf("secret = %q, %v; want %q", b, err, data)
	}
	if st, _ := os.Stat(filepath.Join(dir, "api-key")); st.Mode().Perm() != 0o400 {
		t.Errorf("mode = %v, want 0400", st.Mode().Perm())
	}
	if got, err := writeSecrets(filepath.Join(t.TempDir(), "none"), nil); got != "" || err != nil {
		t.Errorf("no secrets: %q, %v", got, err)
	}
	if _, err := writeSecrets(filepath.Join(t.TempDir(), "bad"), []runtime.SecretFile{{Name: "../x"}}); err == nil {
		t.Error("a secret name with a slash was accepted")
	}
	os.Chmod(dir, 0o700)
}

func TestParseProcStat(t *testing.T) {
	line := "1234 (a (weird) name) S 77 4321 4321 0 -1 4194560 100 0 0 0 250 50 10 5 20 0 1 0 987654 1000000 300 18446744073709551615"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 77 || st.pgrp != 4321 || st.cpuTicks != 315 || st.startTime != 987654 || st.rssPages != 300 {
		t.Errorf("parsed %+v", st)
	}
	if _, err := parseProcStat([]byte("1 (x) S 1")); err == nil {
		t.Error("short stat accepted")
	}
}

func TestStalePid(t *testing.T) {
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, content string
		want          bool
	}{
		{"same process", pid + " " + strconv.FormatUint(self.startTime, 10), true},
		{"pid reused", pid + " " + strconv.FormatUint(self.startTime+1, 10), false},
		{"garbage", "x y", false},
		{"init", "1 1", false},
		{"leader gone", "4194000 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.pid")
			if err := os.WriteFile(p, []byte(tt.content+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, got := stalePid(p); got != tt.want {
				t.Errorf("stalePid(%q) = %v, want %v", tt.content, got, tt.want)
			}
		})
	}
}
