package process

import (
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime"
)

func TestParseReady(t *testing.T) {
	tests := []struct {
		in   string
		want readyMsg
	}{
		{in: "", want: readyMsg{}},
		{in: "\n", want: readyMsg{ok: true}},
		{in: "upstream=127.0.0.1:8123\n", want: readyMsg{ok: true, upstream: "127.0.0.1:8123"}},
		{in: "upstream=127.0.0.1:8123", want: readyMsg{ok: true, upstream: "127.0.0.1:8123"}},
		{in: "upstream=[::1]:80\n", want: readyMsg{ok: true, upstream: "[::1]:80"}},
		{in: "upstream=10.0.0.1:8123\n", want: readyMsg{ok: true}},
		{in: "upstream=localhost:8123\n", want: readyMsg{ok: true}},
		{in: "upstream=127.0.0.1:0\n", want: readyMsg{ok: true}},
		{in: "upstream=127.0.0.1\n", want: readyMsg{ok: true}},
		{in: "something else\n", want: readyMsg{ok: true}},
		{in: "upstream=unix:@fjord-fn-0123abcd\n", want: readyMsg{ok: true, upstream: "unix:@fjord-fn-0123abcd"}},
		{in: "upstream=unix:/tmp/fn.sock\n", want: readyMsg{ok: true}},
		{in: "upstream=unix:@\n", want: readyMsg{ok: true}},
		{in: "upstream=unix:@a/b\n", want: readyMsg{ok: true}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.in), func(t *testing.T) {
			if got := parseReady([]byte(tt.in)); got != tt.want {
				t.Errorf("parseReady(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got := readReady(strings.NewReader(tt.in)); got != tt.want {
				t.Errorf("readReady(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDirectAllowed(t *testing.T) {
	tests := []struct {
		name  string
		image []string
		env   map[string]string
		want  bool
	}{
		{name: "plain", want: true},
		{name: "max_inflight", env: map[string]string{"max_inflight": "4"}, want: false},
		{name: "max_inflight 0", env: map[string]string{"max_inflight": "0"}, want: true},
		{name: "max_inflight from image", image: []string{"max_inflight=1"}, want: false},
		{name: "image limit lifted by function", image: []string{"max_inflight=1"}, env: map[string]string{"max_inflight": "0"}, want: true},
		{name: "buffer_http", env: map[string]string{"buffer_http": "true"}, want: false},
		{name: "http_buffer_req_body", env: map[string]string{"http_buffer_req_body": "1"}, want: false},
		{name: "buffer off", env: map[string]string{"buffer_http": "false"}, want: true},
		{name: "log_callid", env: map[string]string{"log_callid": "true"}, want: false},
		{name: "exec_timeout is the router's", env: map[string]string{"exec_timeout": "2s"}, want: true},
		{name: "image exec_timeout unseen by the router", image: []string{"exec_timeout=10s"}, want: false},
		{name: "image write_timeout unseen by the router", image: []string{"write_timeout=10s"}, want: false},
		{name: "image timeout overridden by function", image: []string{"exec_timeout=10s"}, env: map[string]string{"exec_timeout": "20s"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev := &revision{spec: runtime.FunctionSpec{Env: tt.env}, bundle: image.Bundle{Env: tt.image}}
			if got := directAllowed(rev); got != tt.want {
				t.Errorf("directAllowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDirectEndpoint runs replicas whose (fake) watchdog reports an upstream
// and checks Endpoint.Direct is published only when the env allows it.
func TestDirectEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		direct bool
	}{
		{name: "reported", env: map[string]string{"fake_direct": "1"}, direct: true},
		{name: "max_inflight keeps the watchdog", env: map[string]string{"fake_direct": "1", "max_inflight": "2"}},
		{name: "not reported", env: map[string]string{}},
	}
	rt, _ := newTestRuntime(t, []string{bins.fake})
	eps := started(t, rt)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := echoSpec("direct"+string(rune('a'+i)), 1, 1)
			for k, v := range tt.env {
				spec.Env[k] = v
			}
			if err := rt.Apply(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			ep := eps.wait(t, spec.Ref, 1)[0]
			switch {
			case tt.direct && ep.Direct != ep.Address:
				t.Errorf("Direct = %q, want the reported %q", ep.Direct, ep.Address)
			case !tt.direct && ep.Direct != "":
				t.Errorf("Direct = %q, want empty", ep.Direct)
			}
			if st, _ := rt.Status(t.Context(), spec.Ref); len(st.Replicas) != 1 {
				t.Errorf("status: %+v", st)
			}
		})
	}
}
