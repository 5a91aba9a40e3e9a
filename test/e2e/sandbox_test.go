package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

const sandboxStack = `version: "1.0"
provider:
  name: openfaas
functions:
  probe-a:
    lang: bash
    handler: ./probe
    image: probe:latest
    secrets: [s1]
  probe-b:
    lang: bash
    handler: ./probe
    image: probe:latest
  hog:
    lang: python3-http
    handler: ./hog
    image: hog:latest
    limits:
      memory: 64m
  spin:
    lang: python3
    handler: ./spin
    image: spin:latest
    environment:
      exec_timeout: 30s
      write_timeout: 30s
    limits:
      cpu: 200m
`

// The probe runs the shell command it is sent, so a test can look around inside.
const probeHandler = "#!/bin/bash\nbash -c \"$(cat)\" 2>&1\necho \"exit=$?\"\n"

const hogHandler = `def handle(event, context):
    if event.query.get("hog"):
        block = bytearray(300 * 1024 * 1024)
        return {"statusCode": 200, "body": str(len(block))}
    return {"statusCode": 200, "body": "small"}
`

const spinHandler = `import time

def handle(req):
    end = time.time() + float(req or "3")
    n = 0
    while time.time() < end:
        n += 1
    return "spun %d" % n
`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// replicaCgroups lists the replica cgroups of a daemon (v1 memory hierarchy or v2).
func replicaCgroups(d *daemon) []string {
	replicas, _ := daemonCgroups(d)
	return replicas
}

// spareCgroupPrefix starts the names of the cgroups spare inits wait in
// (cgroup v1; internal/sandbox), which no replica's name can start with.
const spareCgroupPrefix = ".spare-"

// daemonCgroups lists every cgroup under a daemon's prefix (v1 memory
// hierarchy or v2): those of replicas, and those of spare inits.
func daemonCgroups(d *daemon) (replicas, spares []string) {
	sum := sha256.Sum256([]byte(d.stateDir))
	prefix := "fjord-" + hex.EncodeToString(sum[:4])
	for _, root := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup"} {
		entries, _ := os.ReadDir(filepath.Join(root, prefix))
		for _, e := range entries {
			p := filepath.Join(root, prefix, e.Name())
			switch {
			case !e.IsDir():
			case strings.HasPrefix(e.Name(), spareCgroupPrefix):
				spares = append(spares, p)
			default:
				replicas = append(replicas, p)
			}
		}
	}
	return replicas, spares
}

// TestSandbox checks isolation, secrets, memory and CPU limits and cleanup of the
// process runtime's sandbox through the real daemon.
func TestSandbox(t *testing.T) {
	testenv.NeedRoot(t)
	// The daemon inherits a pipe it did not open, as from a job runner: no
	// function may see it.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pw.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	leaked := fmt.Sprintf("pipe:[%d]", st.Ino)
	extra := make([]*os.File, 21) // the pipe lands on fd 23, above what replicas are given
	extra[20] = pw
	d := &daemon{t: t, bin: testenv.FjordBinary(t), stateDir: t.TempDir(), addr: freeAddr(t), extraFiles: extra}
	d.start()
	t.Cleanup(func() { d.stop(syscall.SIGTERM) })
	d.login(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"stack.yml": sandboxStack, "probe/handler.sh": probeHandler,
		"hog/handler.py": hogHandler, "spin/handler.py": spinHandler,
	})
	d.mustCLI(t, dir, "", "secret", "create", "s1", "--from-literal", "first value")
	if code, body := d.do("GET", "/system/secrets", ""); code != 200 || strings.Contains(body, "first value") || !strings.Contains(body, `"s1"`) {
		t.Fatalf("secret list: %d %s", code, body)
	}
	if code, _ := d.do("POST", "/system/secrets", `{"name":"s1","value":"x"}`); code != 409 {
		t.Fatalf("duplicate secret: %d, want 409", code)
	}
	d.mustCLI(t, dir, "", "up", "-f", "stack.yml")
	for _, fn := range []string{"probe-a", "probe-b", "hog", "spin"} {
		waitAvailable(t, d, fn, 1)
	}
	probe := func(fn, cmd string) string {
		t.Helper()
		code, body, _ := invoke(t, "POST", d.url("/function/"+fn), cmd)
		if code != 200 {
			t.Fatalf("probe %s %q: %d %s", fn, cmd, code, body)
		}
		return body
	}

	t.Run("isolation", func(t *testing.T) {
		daemonPID := strconv.Itoa(d.cmd.Process.Pid)
		cases := []struct{ cmd, want string }{
			{"cat /var/openfaas/secrets/s1", "first valueexit=0"},
			{"id -u", "exit=0"},
			{"echo hi > /tmp/x && cat /tmp/x", "hi\nexit=0"},
			{"touch /etc/fjord-test", "exit=1"},
			{"touch /home/app/x", "exit=1"},
			{"kill -0 " + daemonPID, "exit=1"},
			{"cat " + filepath.Join(d.stateDir, "secrets", "basic-auth-password"), "exit=1"},
		}
		for _, c := range cases {
			if out := probe("probe-a", c.cmd); !strings.Contains(out, c.want) {
				t.Errorf("probe-a %q: %q, want it to contain %q", c.cmd, out, c.want)
			}
		}
		if out := probe("probe-a", "ls -l /proc/self/fd/ /proc/1/fd/"); strings.Contains(out, leaked) {
			t.Errorf("a descriptor the daemon inherited reached the function: %q", out)
		}
		if out := probe("probe-a", "id -u"); strings.HasPrefix(out, "0\n") {
			t.Errorf("function runs as root: %q", out)
		}
		if out := probe("probe-b", "cat /var/openfaas/secrets/s1"); strings.Contains(out, "first value") || strings.Contains(out, "exit=0") {
			t.Errorf("probe-b read probe-a's secret: %q", out)
		}
		out := probe("probe-b", "ls /proc | grep -c '^[0-9]'")
		if n, _ := strconv.Atoi(strings.Fields(out)[0]); n == 0 || n > 20 {
			t.Errorf("probe-b sees %q processes, want only its own few", out)
		}
	})

	t.Run("secret-update", func(t *testing.T) {
		d.mustCLI(t, dir, "", "secret", "update", "s1", "--from-literal", "second value")
		d.mustCLI(t, dir, "", "up", "-f", "stack.yml", "--filter", "probe-a")
		waitFor(t, "redeployed function to read the new secret", 30*time.Second, func() bool {
			return strings.Contains(probe("probe-a", "cat /var/openfaas/secrets/s1"), "second value")
		})
	})

	t.Run("memory-limit", func(t *testing.T) {
		code, body, _ := invoke(t, "GET", d.url("/function/hog?hog=1"), "")
		if code < 500 {
			t.Fatalf("300 MB allocation under a 64m limit answered %d %q", code, body)
		}
		if out := probe("probe-b", "echo alive"); !strings.Contains(out, "alive") {
			t.Fatalf("neighbour stopped answering: %q", out)
		}
		waitFor(t, "logs to report the OOM kill", 20*time.Second, func() bool {
			_, logs := d.do("GET", "/system/logs?name=hog&follow=false", "")
			return strings.Contains(logs, "OOM killed")
		})
		waitAvailable(t, d, "hog", 1)
		reported := false
		for _, in := range status(t, d, "hog").Instances {
			reported = reported || (in.Restarts > 0 && strings.Contains(in.Message, "OOM killed"))
		}
		if !reported {
			t.Errorf("status does not report the OOM kill: %+v", status(t, d, "hog").Instances)
		}
		if code, body, _ := invoke(t, "GET", d.url("/function/hog"), ""); code != 200 || body != "small" {
			t.Fatalf("restarted hog: %d %q", code, body)
		}
	})

	t.Run("cpu-limit", func(t *testing.T) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); invoke(t, "POST", d.url("/function/spin"), "4") }()
		var peak float64
		for i := 0; i < 4; i++ {
			time.Sleep(900 * time.Millisecond)
			if st := usageStatus(t, d, "spin"); st.Usage != nil && st.Usage.CPU > peak {
				peak = st.Usage.CPU
			}
		}
		wg.Wait()
		code, body := d.do("GET", "/system/function/spin?usage=1", "")
		t.Logf("spin peak CPU %.3f cores; last status %d %s", peak, code, body)
		if peak < 0.05 || peak > 0.3 {
			t.Fatalf("CPU spinner under cpu: 200m peaked at %.3f cores, want 0.05..0.3", peak)
		}
	})

	t.Run("cleanup", func(t *testing.T) {
		before, spares := daemonCgroups(d)
		if len(before) < 4 {
			t.Fatalf("expected a cgroup per replica, found %v", before)
		}
		before = append(before, spares...) // the stale sweep removes spares' too
		d.restart(syscall.SIGKILL)
		for _, fn := range []string{"probe-a", "probe-b", "hog", "spin"} {
			waitAvailable(t, d, fn, 1)
		}
		waitFor(t, "stale cgroups of the killed daemon to go", 10*time.Second, func() bool {
			replicas, spares := daemonCgroups(d)
			now := strings.Join(append(replicas, spares...), " ")
			for _, p := range before {
				if strings.Contains(now, p) {
					return false
				}
			}
			return true
		})
		for _, fn := range []string{"probe-a", "probe-b", "hog", "spin"} {
			d.mustCLI(t, dir, "", "remove", fn)
		}
		waitFor(t, "replica cgroups removed", 20*time.Second, func() bool { return len(replicaCgroups(d)) == 0 })
		// What is left is the cgroup of the one spare init the daemon keeps.
		if _, spares := daemonCgroups(d); len(spares) > 1 {
			t.Fatalf("%d spare cgroups left, want at most the one spare's: %v", len(spares), spares)
		}
		// Replica mounts live in the replicas' own mount namespaces: the host's
		// mount table never mentions the state dir.
		if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mi), d.stateDir) {
			t.Fatalf("host mount table mentions %s (err %v)", d.stateDir, err)
		}
		// A daemon that stops kills its spare and removes the spare's cgroup.
		d.stop(syscall.SIGTERM)
		if replicas, spares := daemonCgroups(d); len(replicas)+len(spares) > 0 {
			t.Fatalf("cgroups left after the daemon stopped: %v %v", replicas, spares)
		}
	})
}
