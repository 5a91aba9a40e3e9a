package process

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime"
)

const (
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// fjordInRoot is where the fjord binary is bind-mounted into an image's own root.
	fjordInRoot = "/.fjord/fjord"
	secretsPath = "/var/openfaas/secrets"
)

// revision is one applied spec with its resolved image and the command that runs it.
type revision struct {
	spec   runtime.FunctionSpec
	bundle image.Bundle
	path   string
	args   []string
	dir    string
	binds  []Bind
	// fjordWatchdog is true when the watchdog honours fjord_listen_fd and
	// fjord_ready_fd; an image's own fwatchdog gets a port and is polled instead.
	fjordWatchdog bool
}

// newRevision decides how replicas of spec run, given its bundle and the sandbox.
func newRevision(spec runtime.FunctionSpec, b image.Bundle, caps SandboxCaps, watchdog []string) (*revision, error) {
	rev := &revision{spec: spec, bundle: b, fjordWatchdog: true}
	if b.HostRuntime {
		rev.path, rev.args = watchdog[0], watchdog
		rev.dir = filepath.Join(b.RootFS, b.WorkingDir)
		return rev, nil
	}
	if !caps.OwnRoot {
		return nil, fmt.Errorf("image %s carries its own root filesystem; the process runtime runs it only with the sandbox (run fjord serve as root): %w",
			spec.Image, runtime.ErrUnsupported)
	}
	rev.dir = b.WorkingDir
	if rev.dir == "" {
		rev.dir = "/"
	}
	if argv := append(append([]string{}, b.Entrypoint...), b.Cmd...); namesFwatchdog(argv) {
		rev.path, rev.args, rev.fjordWatchdog = argv[0], argv, false
		return rev, nil
	}
	rev.binds = []Bind{{Host: watchdog[0], Target: fjordInRoot, ReadOnly: true}}
	rev.path = fjordInRoot
	rev.args = append([]string{fjordInRoot}, watchdog[1:]...)
	return rev, nil
}

func namesFwatchdog(argv []string) bool {
	return len(argv) > 0 && filepath.Base(argv[0]) == "fwatchdog"
}

// replicaEnv builds a replica's environment: image env, then the function's
// env (which wins), then what the runtime itself must set.
func replicaEnv(rev *revision, caps SandboxCaps, replicaID, workDir, secretsDir string, port int) []string {
	env := map[string]string{}
	for _, kv := range rev.bundle.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range rev.spec.Env {
		env[k] = v
	}
	setDefault := func(k, v string) {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	setDefault("PATH", defaultPath)
	setDefault("metrics_port", "0")
	setDefault("healthcheck_interval", "0s")
	env["HOSTNAME"] = replicaID
	env["TMPDIR"] = "/tmp"
	if caps.Isolation == "none" {
		env["TMPDIR"] = filepath.Join(workDir, "tmp")
		if secretsDir != "" {
			env["fjord_secrets_dir"] = secretsDir
		}
	}
	if rev.fjordWatchdog {
		env["fjord_listen_fd"] = "3"
		env["fjord_ready_fd"] = "4"
		env["fjord_auto_upstream"] = "1"
	} else {
		env["port"] = strconv.Itoa(port)
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// writeSecrets writes the function's secrets into dir as read-only files with
// their exact bytes. It returns "" when the function lists none.
func writeSecrets(dir string, secrets []runtime.SecretFile) (string, error) {
	if len(secrets) == 0 {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create secrets dir: %w", err)
	}
	for _, s := range secrets {
		if s.Name == "" || strings.ContainsAny(s.Name, "/\x00") || s.Name == "." || s.Name == ".." {
			return "", fmt.Errorf("write secret %q: invalid name", s.Name)
		}
		p := filepath.Join(dir, s.Name)
		if err := os.WriteFile(p, s.Data, 0o400); err != nil {
			return "", fmt.Errorf("write secret %s: %w", s.Name, err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		return "", fmt.Errorf("protect secrets dir: %w", err)
	}
	return dir, nil
}
