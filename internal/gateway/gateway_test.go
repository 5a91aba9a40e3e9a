package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/metrics"
	"github.com/fjord-faas/fjord/internal/router"
)

const (
	testUser = "admin"
	testPass = "s3cret"
)

type testGateway struct {
	t      testing.TB
	ctl    *fakeControl
	router *router.Router
	m      *metrics.Metrics
	gw     *Server
	url    string // http://host:port of the started gateway
}

// newTestGateway serves a gateway over a fake control plane and a real router.
func newTestGateway(t testing.TB, mutate func(*Config)) *testGateway {
	t.Helper()
	g := &testGateway{t: t, ctl: newFakeControl()}
	reg := prometheus.NewRegistry()
	g.m = metrics.New(reg)
	g.router = router.New(router.Config{Functions: fakeFunctions{g.ctl}, Metrics: g.m})
	cfg := Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Control = g.ctl
	cfg.Router = g.router
	cfg.Metrics = g.m
	cfg.Registry = reg
	cfg.Auth.Password = testPass
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The real listener: function calls go through the front, the rest is
	// handed to net/http (unless a test sets NoFront).
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.gw, g.url = s, "http://"+s.Addr()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return g
}

// call sends a request with valid credentials unless noAuth.
func (g *testGateway) call(method, path, body string, noAuth bool) (*http.Response, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	if !noAuth {
		req.SetBasicAuth(testUser, testPass)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (g *testGateway) seed() {
	g.ctl.fns[key("", "fn")] = api.FunctionStatus{Name: "fn", Image: "fn:latest", Namespace: api.DefaultNamespace, Replicas: 1}
	g.ctl.secrets[key("", "token")] = api.Secret{Name: "token", Namespace: api.DefaultNamespace, Value: "hidden"}
}

func TestSystemRoutes(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string // substring of the body
	}{
		{"list", "GET", "/system/functions", "", 200, `"name":"fn"`},
		{"list empty ns", "GET", "/system/functions?namespace=dev", "", 200, "[]"},
		{"list unknown ns", "GET", "/system/functions?namespace=nope", "", 400, "unknown namespace"},
		{"list wrong method", "PATCH", "/system/functions", "", 405, ""},
		{"deploy", "POST", "/system/functions", `{"service":"new","image":"new:1","labels":null,"network":"x"}`, 202, ""},
		{"deploy exists", "POST", "/system/functions", `{"service":"fn","image":"fn:1"}`, 400, "function fn already exists in namespace openfaas-fn, use PUT to update"},
		{"deploy bad json", "POST", "/system/functions", `{"service":`, 400, "bad JSON"},
		{"deploy empty body", "POST", "/system/functions", ``, 400, "empty"},
		{"deploy bad name", "POST", "/system/functions", `{"service":"Bad.Name","image":"x"}`, 400, "function name"},
		{"deploy no image", "POST", "/system/functions", `{"service":"x"}`, 400, "image is required"},
		{"deploy unknown ns", "POST", "/system/functions", `{"service":"x","image":"x","namespace":"nope"}`, 400, "unknown namespace"},
		{"deploy bad image", "POST", "/system/functions", `{"service":"x","image":"bad-image"}`, 400, "image error"},
		{"deploy too big", "POST", "/system/functions", `{"service":"x","image":"` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		{"update", "PUT", "/system/functions", `{"service":"fn","image":"fn:2"}`, 202, ""},
		{"update missing", "PUT", "/system/functions", `{"service":"nope","image":"x"}`, 404, "not found"},
		{"delete", "DELETE", "/system/functions", `{"functionName":"fn"}`, 202, ""},
		{"delete missing", "DELETE", "/system/functions", `{"functionName":"nope"}`, 404, ""},
		{"delete no name", "DELETE", "/system/functions", `{}`, 400, "functionName"},
		{"get", "GET", "/system/function/fn", "", 200, `"labels":{}`},
		{"get usage", "GET", "/system/function/fn?usage=1", "", 200, `"usage":{"cpu":0.5`},
		{"get missing", "GET", "/system/function/nope", "", 404, ""},
		{"scale", "POST", "/system/scale-function/fn", `{"serviceName":"fn","replicas":0}`, 202, ""},
		{"scale missing", "POST", "/system/scale-function/nope", `{"replicas":1}`, 404, ""},
		{"scale bad json", "POST", "/system/scale-function/fn", `nope`, 400, ""},
		{"secrets", "GET", "/system/secrets", "", 200, `[{"name":"token","namespace":"openfaas-fn"}]`},
		{"secret create", "POST", "/system/secrets", `{"name":"db","value":"pw"}`, 202, ""},
		{"secret exists", "POST", "/system/secrets", `{"name":"token","value":"pw"}`, 409, ""},
		{"secret bad name", "POST", "/system/secrets", `{"name":"../x","value":"pw"}`, 400, ""},
		{"secret update", "PUT", "/system/secrets", `{"name":"token","value":"pw"}`, 202, ""},
		{"secret update missing", "PUT", "/system/secrets", `{"name":"nope","value":"pw"}`, 404, ""},
		{"secret delete", "DELETE", "/system/secrets", `{"name":"token"}`, 202, ""},
		{"secret delete missing", "DELETE", "/system/secrets", `{"name":"nope"}`, 404, ""},
		{"info", "GET", "/system/info", "", 200, `"provider":"fjord","version":{`},
		{"namespaces", "GET", "/system/namespaces", "", 200, `["openfaas-fn","dev"]`},
		{"ns create", "POST", "/system/namespace/", `{"name":"team","labels":{"openfaas":"1"}}`, 202, ""},
		{"ns create no label", "POST", "/system/namespace/", `{"name":"team"}`, 400, "openfaas"},
		{"ns create exists", "POST", "/system/namespace/", `{"name":"dev","labels":{"openfaas":"1"}}`, 409, ""},
		{"ns get", "GET", "/system/namespace/dev", "", 200, `"name":"dev"`},
		{"ns get missing", "GET", "/system/namespace/nope", "", 404, ""},
		{"ns update", "PUT", "/system/namespace/dev", `{"name":"dev","labels":{"openfaas":"1"}}`, 202, ""},
		{"ns update mismatch", "PUT", "/system/namespace/dev", `{"name":"other","labels":{"openfaas":"1"}}`, 400, ""},
		{"ns update missing", "PUT", "/system/namespace/nope", `{"name":"nope","labels":{"openfaas":"1"}}`, 404, ""},
		{"ns delete", "DELETE", "/system/namespace/dev", `{"name":"dev","labels":{"openfaas":"1"}}`, 202, ""},
		{"ns delete default", "DELETE", "/system/namespace/openfaas-fn", ``, 400, ""},
		{"telemetry", "GET", "/system/telemetry", "", 404, ""},
		{"alert disabled", "POST", "/system/alert", "{}", 501, ""},
		{"unknown", "GET", "/system/nope", "", 404, "404 page not found"},
		{"healthz", "GET", "/healthz", "", 200, "OK"},
		{"healthz head", "HEAD", "/healthz", "", 200, ""},
		{"metrics", "GET", "/metrics", "", 200, ""},
		{"root", "GET", "/", "", 307, ""},
		{"ui", "GET", "/ui/", "", 200, "/system/functions"},
		{"oci disabled", "GET", "/v2/", "", 404, ""},
		{"async disabled", "POST", "/async-function/fn", "", 501, "async calls are not enabled"},
		{"async wrong method", "GET", "/async-function/fn", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.seed()
			resp, body := g.call(tt.method, tt.path, tt.body, false)
			if resp.StatusCode != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s: got %d %q, want %d with %q", tt.method, tt.path, resp.StatusCode, body, tt.code, tt.want)
			}
			if tt.code == 202 && body != "" {
				t.Fatalf("202 with body %q", body)
			}
			if tt.code == 200 && strings.HasPrefix(tt.path, "/system/") && resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestServerError(t *testing.T) {
	g := newTestGateway(t, nil)
	g.ctl.fail = errBoom
	resp, body := g.call("GET", "/system/functions", "", false)
	if resp.StatusCode != 500 || body != "disk on fire\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestNamespaceResolution(t *testing.T) {
	tests := []struct {
		name, path, body, want string
	}{
		{"body wins", "/system/functions?namespace=other", `{"service":"a","image":"a","namespace":"dev"}`, "Deploy dev/a update=false"},
		{"query next", "/system/functions?namespace=dev", `{"service":"a","image":"a"}`, "Deploy dev/a update=false"},
		{"default last", "/system/functions", `{"service":"a","image":"a"}`, "Deploy openfaas-fn/a update=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.call("POST", tt.path, tt.body, false)
			if got := g.ctl.lastCall(); got != tt.want {
				t.Fatalf("control saw %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("scale", func(t *testing.T) {
		g := newTestGateway(t, nil)
		g.call("POST", "/system/scale-function/fn?namespace=dev", `{"serviceName":"fn","replicas":3}`, false)
		if got := g.ctl.lastCall(); got != "Scale dev/fn 3" {
			t.Fatalf("control saw %q", got)
		}
	})
	t.Run("delete", func(t *testing.T) {
		g := newTestGateway(t, nil)
		g.call("DELETE", "/system/functions?namespace=x", `{"functionName":"fn","namespace":"dev"}`, false)
		if got := g.ctl.lastCall(); got != "Remove dev/fn" {
			t.Fatalf("control saw %q", got)
		}
	})
}

func TestAuth(t *testing.T) {
	g := newTestGateway(t, nil)
	g.seed()
	for _, path := range []string{"/system/functions", "/system/info", "/ui/", "/system/telemetry"} {
		t.Run("protected "+path, func(t *testing.T) {
			for _, set := range []func(*http.Request){
				func(r *http.Request) {},
				func(r *http.Request) { r.SetBasicAuth(testUser, "wrong") },
				func(r *http.Request) { r.SetBasicAuth("root", testPass) },
			} {
				req, _ := http.NewRequest("GET", g.url+path, nil)
				set(req)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 401 || string(body) != "invalid credentials\n" ||
					resp.Header.Get("WWW-Authenticate") != `Basic realm="Restricted"` {
					t.Fatalf("got %d %q %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	for _, path := range []string{"/healthz", "/metrics", "/function/nope", "/"} {
		t.Run("open "+path, func(t *testing.T) {
			resp, _ := g.call("GET", path, "", true)
			if resp.StatusCode == 401 {
				t.Fatal("open route asked for credentials")
			}
		})
	}
	t.Run("unclean path", func(t *testing.T) {
		resp, body := g.call("GET", "//system/functions", "", true)
		if resp.StatusCode == 200 || strings.Contains(body, "fn:latest") {
			t.Fatalf("unclean path served %d %q", resp.StatusCode, body)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		g := newTestGateway(t, func(c *Config) { c.Auth = Auth{} })
		resp, _ := g.call("GET", "/system/functions", "", true)
		if resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ctl := newFakeControl()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no control", Config{Functions: fakeFunctions{ctl}}, false},
		{"no router", Config{Control: ctl}, false},
		{"auth without password", Config{Control: ctl, Functions: fakeFunctions{ctl}, Auth: Auth{Enabled: true, User: "admin"}}, false},
		{"ok", Config{Control: ctl, Functions: fakeFunctions{ctl}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	g := newTestGateway(t, nil)
	_, body := g.call("GET", "/system/info", "", false)
	var info api.GatewayInfo
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	p := info.Provider
	if p == nil || p.Version == nil || info.Version == nil {
		t.Fatalf("null parts in %s", body)
	}
	for name, v := range map[string]string{
		"provider.provider": p.Name, "provider.orchestration": p.Orchestration,
		"provider.version.release": p.Version.Release, "provider.version.sha": p.Version.SHA,
		"version.release": info.Version.Release, "version.sha": info.Version.SHA, "arch": info.Arch,
	} {
		if v == "" {
			t.Errorf("%s is empty", name)
		}
	}
	if p.Name != "fjord" || p.Orchestration != "process" {
		t.Fatalf("provider %+v", p)
	}
}
