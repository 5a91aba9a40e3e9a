package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
)

func seed(gw interface{ AddFunction(api.FunctionStatus) }) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gw.AddFunction(api.FunctionStatus{Name: "hello", Image: "hello:latest", InvocationCount: 42, Replicas: 2, AvailableReplicas: 2, CreatedAt: created, EnvProcess: "python3 index.py",
		Labels: map[string]string{"faas_function": "hello"}, Annotations: map[string]string{}})
	gw.AddFunction(api.FunctionStatus{Name: "cold", Image: "cold:1", Replicas: 0, CreatedAt: created})
}

func TestListCmd(t *testing.T) {
	gw := cliEnv(t)
	seed(gw)
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"table", nil, []string{"Function", "Invocations", "hello", "42", "cold"}},
		{"verbose", []string{"-v"}, []string{"Image", "hello:latest", "cold:1", "Available"}},
		{"quiet", []string{"-q"}, []string{"cold\nhello\n"}},
		{"alias", []string{"ls", "-q"}, []string{"hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"list", "-g", gw.URL}, tt.args...)
			if len(tt.args) > 0 && tt.args[0] == "ls" {
				args = append([]string{"ls", "-g", gw.URL}, tt.args[1:]...)
			}
			wantContains(t, mustRun(t, "", args...), tt.wants...)
		})
	}
	var fns []api.FunctionStatus
	if err := json.Unmarshal([]byte(mustRun(t, "", "list", "--json", "-g", gw.URL)), &fns); err != nil || len(fns) != 2 {
		t.Fatalf("--json = %v, %v", fns, err)
	}
	t.Setenv("OPENFAAS_URL", gw.URL)
	wantContains(t, mustRun(t, "", "list", "-q"), "hello")
}

func TestDescribeCmd(t *testing.T) {
	gw := cliEnv(t)
	seed(gw)
	out := mustRun(t, "", "describe", "hello", "-g", gw.URL)
	wantContains(t, out, "Name:", "hello", "Status:", "Ready", "Replicas:", "Invocations:", "42",
		"Image:", "hello:latest", "URL:", gw.URL+"/function/hello", "CPU:", "Memory:", "10.0 MiB", "faas_function")
	out = mustRun(t, "", "describe", "cold", "-g", gw.URL)
	wantContains(t, out, "Not Ready")
	if _, _, err := runCLI(t, "", "describe", "nope", "-g", gw.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("describe missing: %v", err)
	}
}

func TestInvokeCmd(t *testing.T) {
	gw := cliEnv(t)
	out := mustRun(t, "hi there", "invoke", "hello", "-g", gw.URL, "-H", "X-Test=yes", "--query", "a=b", "-m", "put")
	if out != "PUT hello.openfaas-fn q=a=b h=yes body=hi there" {
		t.Fatalf("invoke output = %q", out)
	}
	out = mustRun(t, "x", "invoke", "hello", "-n", "team", "-g", gw.URL)
	wantContains(t, out, "POST hello.team")
	_, _, err := runCLI(t, "", "invoke", "missing", "-g", gw.URL)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("invoke missing: %v", err)
	}
	_, errOut, err := runCLI(t, "job", "invoke", "hello", "--async", "-g", gw.URL)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, errOut, "202 Accepted", "call-1")
	for _, c := range gw.Calls() {
		if c.Header.Get("Authorization") != "" {
			t.Fatalf("invoke sent credentials")
		}
	}
}

func TestScaleRemoveCmds(t *testing.T) {
	gw := cliEnv(t)
	seed(gw)
	wantContains(t, mustRun(t, "", "scale", "hello", "--replicas", "0", "-g", gw.URL), "Scaled hello to 0")
	if f, _ := gw.Function("hello", api.DefaultNamespace); f.Replicas != 0 {
		t.Fatalf("replicas = %d", f.Replicas)
	}
	if _, _, err := runCLI(t, "", "scale", "hello", "-g", gw.URL); err == nil {
		t.Fatal("scale without --replicas: want an error")
	}
	wantContains(t, mustRun(t, "", "rm", "hello", "-g", gw.URL), "Removed: hello")
	if _, ok := gw.Function("hello", api.DefaultNamespace); ok {
		t.Fatal("hello still deployed")
	}
	if _, _, err := runCLI(t, "", "remove", "hello", "-g", gw.URL); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("remove missing: %v", err)
	}
	stackYAML := "provider: {name: openfaas, gateway: " + gw.URL + "}\nfunctions:\n  cold: {image: cold:1}\n"
	if err := os.WriteFile("stack.yml", []byte(stackYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	wantContains(t, mustRun(t, "", "remove"), "Removed: cold")
}

func TestLogsAndVersionCmds(t *testing.T) {
	gw := cliEnv(t)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gw.Logs = []api.LogMessage{{Name: "hello", Instance: "hello-1", Timestamp: ts, Text: "Forking fprocess.\n"}}
	out := mustRun(t, "", "logs", "hello", "--follow=false", "--tail", "10", "-g", gw.URL)
	if out != "2026-01-02T03:04:05Z hello (hello-1) Forking fprocess.\n" {
		t.Fatalf("logs = %q", out)
	}
	wantContains(t, mustRun(t, "", "logs", "hello", "-o", "json", "-g", gw.URL), `"text":"Forking fprocess.\n"`)
	q := gw.Calls()[0].Query
	wantContains(t, q, "follow=false", "tail=10", "name=hello")
	wantContains(t, mustRun(t, "", "version", "-g", gw.URL), "CLI:", "Provider", "fjord", "orchestration: process", "0.4.0")
}
