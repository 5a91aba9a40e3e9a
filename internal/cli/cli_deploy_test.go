package cli

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/client/clienttest"
)

const deployStack = `version: "1.0"
provider:
  name: openfaas
  gateway: ${GW}
functions:
  hello:
    lang: python3
    handler: ./hello
    image: hello:${TAG:-latest}
    namespace: staging
    environment: {A: yaml, B: yaml, C: yaml}
    environment_file: [env.yml]
    labels: {com.openfaas.scale.min: 2}
    annotations: {topic: t}
    secrets: [db]
    limits: {memory: 128Mi}
  raw:
    lang: dockerfile
    image: ghcr.io/acme/raw:1
    fprocess: ./server
`

func lastDeployment(t *testing.T, gw *clienttest.Gateway, service string) (clienttest.Call, api.FunctionDeployment) {
	t.Helper()
	calls := gw.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		var d api.FunctionDeployment
		if calls[i].Path == "/system/functions" && json.Unmarshal(calls[i].Body, &d) == nil && d.Service == service {
			return calls[i], d
		}
	}
	t.Fatalf("no deployment of %s", service)
	return clienttest.Call{}, api.FunctionDeployment{}
}

func TestDeployFromStack(t *testing.T) {
	gw := cliEnv(t)
	t.Setenv("GW", gw.URL)
	files := map[string]string{"stack.yaml": deployStack, "env.yml": "environment: {B: file, C: file}\n"}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, err := runCLI(t, "", "deploy", "--env", "C=flag", "--label", "team=a", "--secret", "api", "--secret", "db")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, errOut)
	}
	wantContains(t, out, "Deployed. 202 Accepted.", "URL: "+gw.URL+"/function/hello.staging", "URL: "+gw.URL+"/function/raw\n")
	wantContains(t, errOut, "Deploying: hello.", "Deploying: raw.")
	_, d := lastDeployment(t, gw, "hello")
	want := api.FunctionDeployment{
		Service: "hello", Image: "hello:latest", Namespace: "staging", EnvProcess: "python3 index.py",
		EnvVars:     map[string]string{"A": "yaml", "B": "file", "C": "flag"},
		Secrets:     []string{"db", "api"},
		Labels:      &map[string]string{"com.openfaas.scale.min": "2", "team": "a"},
		Annotations: &map[string]string{"topic": "t"},
		Limits:      &api.FunctionResources{Memory: "128Mi"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("deployment =\n%+v\nwant\n%+v", d, want)
	}
	_, raw := lastDeployment(t, gw, "raw")
	if raw.EnvProcess != "./server" || raw.Image != "ghcr.io/acme/raw:1" {
		t.Fatalf("raw = %+v", raw)
	}
	// A second deploy updates in place (PUT only), -n overrides, --filter selects.
	n := len(gw.Calls())
	mustRun(t, "", "deploy", "--filter", "hel*", "-n", "staging")
	if calls := gw.Calls()[n:]; len(calls) != 1 || calls[0].Method != "PUT" {
		t.Fatalf("redeploy calls = %+v", calls)
	}
	n = len(gw.Calls())
	mustRun(t, "", "deploy", "--regex", "^raw$", "--replace")
	if calls := gw.Calls()[n:]; len(calls) != 2 || calls[0].Method != "DELETE" || calls[1].Method != "POST" {
		t.Fatalf("replace calls = %d", len(calls))
	}
}

func TestDeployImageAndErrors(t *testing.T) {
	gw := cliEnv(t)
	out := mustRun(t, "", "deploy", "--image", "nginx:1", "--name", "web", "--fprocess", "cat", "-e", "K=V", "-g", gw.URL)
	wantContains(t, out, "Deployed. 202 Accepted.", "URL: "+gw.URL+"/function/web")
	_, d := lastDeployment(t, gw, "web")
	if d.Image != "nginx:1" || d.EnvProcess != "cat" || d.EnvVars["K"] != "V" || d.Labels == nil {
		t.Fatalf("deployment = %+v", d)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"deploy", "--image", "x:1"}, "--name is required"},
		{"no stack", []string{"deploy"}, "no stack.yaml or stack.yml"},
		{"bad env", []string{"deploy", "--image", "x:1", "--name", "x", "--env", "novalue"}, "want key=value"},
		{"named stack missing", []string{"deploy", "-f", "nope.yml"}, "nope.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", append(tt.args, "-g", gw.URL)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewCmd(t *testing.T) {
	cliEnv(t)
	wantContains(t, mustRun(t, "", "new", "--list"), "python3")
	wantContains(t, mustRun(t, "", "new", "hello", "--lang", "python3"), "Function created in folder: hello", "stack.yaml")
	if _, err := os.Stat("hello/handler.py"); err != nil {
		t.Fatalf("handler not written: %v", err)
	}
	mustRun(t, "", "new", "second", "--lang", "python3", "--prefix", "ghcr.io/acme")
	st, err := os.ReadFile("stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, string(st), "name: openfaas", "hello:\n    lang: python3\n    handler: ./hello\n    image: hello:latest",
		"image: ghcr.io/acme/second:latest")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exists in stack", []string{"new", "hello", "--lang", "python3"}, "stack.yaml: function hello already exists"},
		{"bad name", []string{"new", "Bad_Name", "--lang", "python3"}, "must be"},
		{"no lang", []string{"new", "x"}, "--lang is required"},
		{"unknown lang", []string{"new", "x", "--lang", "cobol"}, "cobol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
