package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/router"
	"github.com/fjord-faas/fjord/internal/runtime"
)

func TestInvoke(t *testing.T) {
	g := newTestGateway(t, nil)
	g.seed()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Uri", r.URL.RequestURI())
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		_, _ = w.Write([]byte("hi " + r.Method))
	}))
	defer up.Close()
	g.router.UpdateEndpoints(runtime.Ref{Name: "fn", Namespace: "openfaas-fn"},
		[]runtime.Endpoint{{ID: "r1", Address: up.Listener.Addr().String()}})

	tests := []struct {
		name, method, path string
		code               int
		uri                string
	}{
		{"qualified", "POST", "/function/fn.openfaas-fn", 200, "/"},
		{"default namespace", "GET", "/function/fn", 200, "/"},
		{"sub path and query", "PUT", "/function/fn/a/b?x=1", 200, "/a/b?x=1"},
		{"trailing slash", "GET", "/function/fn.openfaas-fn/", 200, "/"},
		{"double slash kept", "POST", "/function/fn//a", 200, "//a"},
		{"unknown", "GET", "/function/nope", 404, ""},
		{"unknown namespace", "GET", "/function/fn.dev", 404, ""},
		{"empty name", "GET", "/function/.openfaas-fn", 404, ""},
		{"no name", "GET", "/function/", 404, ""},
		{"bad method", "TRACE", "/function/fn", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := g.call(tt.method, tt.path, "x", true)
			if resp.StatusCode != tt.code {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if tt.code == 200 && (resp.Header.Get("X-Seen-Uri") != tt.uri || body != "hi "+tt.method) {
				t.Fatalf("upstream saw %q, body %q", resp.Header.Get("X-Seen-Uri"), body)
			}
		})
	}
	if got := g.m.Invocations("fn.openfaas-fn"); got != 5 {
		t.Fatalf("invocations %v, want 5", got)
	}
	resp, body := g.call("GET", "/system/functions", "", false)
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != 200 || list[0]["invocationCount"] != 5.0 {
		t.Fatalf("list %d %q", resp.StatusCode, body)
	}
	resp, body = g.call("GET", "/metrics", "", true)
	if !strings.Contains(body, `gateway_function_invocation_total{code="200",function_name="fn.openfaas-fn"} 5`) {
		t.Fatalf("metrics missing the invocation counter: %d", resp.StatusCode)
	}
}

func TestLogs(t *testing.T) {
	tests := []struct {
		name, query string
		code        int
		want        string
	}{
		{"missing name", "", 422, ""},
		{"bad tail", "name=fn&tail=x", 422, ""},
		{"bad follow", "name=fn&follow=maybe", 422, ""},
		{"bad since", "name=fn&since=yesterday", 422, ""},
		{"unknown", "name=nope", 404, ""},
		{"unsupported", "name=nologs", 501, ""},
		{"params", "name=fn&namespace=dev&tail=-1&follow=1&since=2024-01-02T03:04:05Z&instance=i1", 200,
			"Logs dev/fn tail=-1 follow=true since=2024-01-02T03:04:05Z instance=i1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			g.ctl.logs = make(chan runtime.LogEntry)
			close(g.ctl.logs)
			resp, _ := g.call("GET", "/system/logs?"+tt.query, "", false)
			if resp.StatusCode != tt.code {
				t.Fatalf("got %d", resp.StatusCode)
			}
			if tt.want != "" && g.ctl.lastCall() != tt.want {
				t.Fatalf("control saw %q", g.ctl.lastCall())
			}
		})
	}
}

func TestLogsStreamed(t *testing.T) {
	g := newTestGateway(t, nil)
	g.ctl.logs = make(chan runtime.LogEntry, 1)
	ts := time.Date(2023, 7, 4, 16, 32, 22, 220000000, time.UTC)
	g.ctl.logs <- runtime.LogEntry{Instance: "fn-abc", Time: ts, Text: "Forking fprocess.\n"}
	defer close(g.ctl.logs)

	req, _ := http.NewRequest("GET", g.url+"/system/logs?name=fn&follow=true", nil)
	req.SetBasicAuth(testUser, testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n') // arrives while the stream stays open
	want := `{"name":"fn","namespace":"openfaas-fn","instance":"fn-abc","timestamp":"2023-07-04T16:32:22.22Z","text":"Forking fprocess.\n"}` + "\n"
	if err != nil || line != want {
		t.Fatalf("got %q, %v", line, err)
	}
}

func TestStartClose(t *testing.T) {
	ctl := newFakeControl()
	ctl.fns[key("", "slow")] = api.FunctionStatus{Name: "slow", Namespace: api.DefaultNamespace}
	release, arrived := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = w.Write([]byte("done"))
	}))
	defer up.Close()
	rt := router.New(router.Config{Functions: fakeFunctions{ctl}})
	rt.UpdateEndpoints(runtime.Ref{Name: "slow", Namespace: "openfaas-fn"}, []runtime.Endpoint{{ID: "a", Address: up.Listener.Addr().String()}})
	s, err := New(Config{Addr: "127.0.0.1:0", Control: ctl, Router: rt})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(s.Addr(), ":0") {
		t.Fatalf("Addr %q is not the bound address", s.Addr())
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/function/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b := make([]byte, 4)
		n, _ := resp.Body.Read(b)
		got <- string(b[:n])
	}()
	<-arrived
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for { // wait until Close has stopped the listener, with the call still in flight
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if body := <-got; body != "done" {
		t.Fatalf("in-flight call got %q", body)
	}
}
