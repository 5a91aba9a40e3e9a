package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/testenv"
)

// TestExampleAndAPI starts the daemon the way the README does and checks the
// example function, auth, validation and the management API's status codes.
func TestExampleAndAPI(t *testing.T) {
	d := startDaemon(t, "--example")

	waitFor(t, "example function to answer", 60*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/hello"), "world")
		return code == 200
	})
	code, body, hdr := invoke(t, "POST", d.url("/function/hello"), "world")
	if code != 200 || !strings.Contains(body, "world") {
		t.Fatalf("hello: %d %q", code, body)
	}
	for _, h := range []string{"X-Call-Id", "X-Start-Time", "X-Served-By", "X-Duration-Seconds"} {
		if hdr.Get(h) == "" {
			t.Errorf("response lacks %s: %v", h, hdr)
		}
	}

	t.Run("auth", func(t *testing.T) {
		req, _ := http.NewRequest("GET", d.url("/system/functions"), nil)
		req.SetBasicAuth("admin", "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Fatalf("wrong password: %d %v", resp.StatusCode, resp.Header)
		}
		if code, _ := (&daemon{t: t, addr: d.addr}).do("GET", "/system/info", ""); code != 401 {
			t.Fatalf("no credentials: %d, want 401", code)
		}
		if code, _, _ := invoke(t, "GET", d.url("/healthz"), ""); code != 200 {
			t.Fatalf("healthz must be open: %d", code)
		}
	})

	t.Run("info", func(t *testing.T) {
		code, body := d.do("GET", "/system/info", "")
		var info api.GatewayInfo
		if code != 200 || json.Unmarshal([]byte(body), &info) != nil {
			t.Fatalf("info: %d %s", code, body)
		}
		if info.Provider.Name != "fjord" || info.Provider.Orchestration != "process" || info.Provider.Version == nil || info.Version.Release == "" || info.Arch == "" {
			t.Fatalf("info: %s", body)
		}
		if os.Geteuid() == 0 && (info.Runtime == nil || info.Runtime.Isolation != "namespaces" || !info.Runtime.LimitsEnforced) {
			t.Fatalf("as root the sandbox must be on and limits enforced: %s", body)
		}
	})

	t.Run("list", func(t *testing.T) {
		code, body := d.do("GET", "/system/functions", "")
		var fns []api.FunctionStatus
		if code != 200 || json.Unmarshal([]byte(body), &fns) != nil || len(fns) != 1 {
			t.Fatalf("list: %d %s", code, body)
		}
		f := fns[0]
		if f.Name != "hello" || f.Namespace != "openfaas-fn" || f.Replicas != 1 || f.AvailableReplicas != 1 || f.Labels["faas_function"] != "hello" || f.InvocationCount < 2 {
			t.Fatalf("hello status: %s", body)
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			method, path, body string
			want               int
		}{
			{"POST", "/system/functions", `{"service":`, 400},
			{"POST", "/system/functions", `{"service":"Bad_Name","image":"x"}`, 400},
			{"POST", "/system/functions", `{"service":"ok","image":""}`, 400},
			{"POST", "/system/functions", `{"service":"hello","image":"hello:latest"}`, 400},
			{"PUT", "/system/functions", `{"service":"missing","image":"x:1"}`, 404},
			{"DELETE", "/system/functions", `{"functionName":"missing"}`, 404},
			{"GET", "/system/function/missing", "", 404},
			{"GET", "/system/functions?namespace=nope", "", 400},
			{"POST", "/system/scale-function/missing", `{"serviceName":"missing","replicas":1}`, 404},
			{"POST", "/system/scale-function/hello", `not json`, 400},
			{"POST", "/system/functions", `{"service":"needs-secret","image":"hello:latest","secrets":["absent"]}`, 400},
		}
		for _, c := range cases {
			if code, body := d.do(c.method, c.path, c.body); code != c.want {
				t.Errorf("%s %s %s: got %d %q, want %d", c.method, c.path, c.body, code, body, c.want)
			}
		}
		if code, _, _ := invoke(t, "GET", d.url("/function/missing"), ""); code != 404 {
			t.Errorf("invoke missing: %d, want 404", code)
		}
	})

	t.Run("namespaces", func(t *testing.T) {
		if code, body := d.do("POST", "/system/namespace/", `{"name":"team-a","labels":{"openfaas":"1"}}`); code != 202 {
			t.Fatalf("create namespace: %d %s", code, body)
		}
		if code, _ := d.do("POST", "/system/namespace/", `{"name":"team-b"}`); code != 400 {
			t.Fatalf("namespace without label: %d, want 400", code)
		}
		code, body := d.do("GET", "/system/namespaces", "")
		if code != 200 || body != `["openfaas-fn","team-a"]`+"\n" && body != `["openfaas-fn","team-a"]` {
			t.Fatalf("namespaces: %d %q", code, body)
		}
		if code, _ := d.do("DELETE", "/system/namespace/team-a", `{"name":"team-a","labels":{"openfaas":"1"}}`); code != 202 {
			t.Fatalf("delete namespace: %d", code)
		}
	})
}

// TestNoSandbox: with --sandbox=off the daemon still runs functions, warns, and
// /system/info says that limits are not enforced.
func TestNoSandbox(t *testing.T) {
	d := startDaemon(t, "--sandbox=off", "--example")
	waitFor(t, "example function to answer", 60*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/hello"), "x")
		return code == 200
	})
	code, body := d.do("GET", "/system/info", "")
	var info api.GatewayInfo
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil || info.Runtime == nil {
		t.Fatalf("info: %d %s", code, body)
	}
	if info.Runtime.LimitsEnforced || info.Runtime.LimitsReason == "" || info.Runtime.Isolation != "none" {
		t.Fatalf("info must say limits are not enforced: %s", body)
	}
	if out := d.output(); !strings.Contains(out, "NOT enforced") {
		t.Fatalf("no warning about unenforced limits in:\n%s", out)
	}
}

// TestAuthOff: with --auth=false the API and the registry are open; the example
// function (built and pushed by the daemon itself) deploys and answers.
func TestAuthOff(t *testing.T) {
	d := startDaemon(t, "--auth=false", "--example")
	waitFor(t, "example function to answer", 60*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/hello"), "x")
		return code == 200
	})
	req, err := http.NewRequest("GET", d.url("/system/functions"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /system/functions without credentials and --auth=false: %d", resp.StatusCode)
	}
	if out := d.output(); !strings.Contains(out, "--auth=false") {
		t.Fatalf("no warning about the open API in:\n%s", out)
	}
}

// TestNonRootDaemon: run as an ordinary user, the daemon cannot sandbox or limit
// functions; it starts anyway, warns, serves functions and says so in /system/info.
func TestNonRootDaemon(t *testing.T) {
	testenv.NeedRoot(t)                             // to switch to another user
	home, err := os.MkdirTemp("", "fjord-nonroot-") // t.TempDir's parent is private to root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(home, "fjord")
	data, err := os.ReadFile(testenv.FjordBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(home, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, bin: bin, stateDir: state, addr: freeAddr(t), args: []string{"--example"},
		cred: &syscall.Credential{Uid: 65534, Gid: 65534}}
	d.start()
	t.Cleanup(func() { d.stop(syscall.SIGTERM) })
	waitFor(t, "example function to answer", 60*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/hello"), "x")
		return code == 200
	})
	code, body := d.do("GET", "/system/info", "")
	var info api.GatewayInfo
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil || info.Runtime == nil {
		t.Fatalf("info: %d %s", code, body)
	}
	if info.Runtime.LimitsEnforced || info.Runtime.LimitsReason == "" {
		t.Fatalf("a non-root daemon must say limits are not enforced: %s", body)
	}
	if out := d.output(); strings.Count(out, "NOT enforced") != 1 {
		t.Fatalf("want exactly one warning about unenforced limits in:\n%s", out)
	}
}
