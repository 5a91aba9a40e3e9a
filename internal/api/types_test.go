package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares v's indented JSON with testdata/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestGoldenFunctionStatus(t *testing.T) {
	tests := []struct {
		name string
		st   FunctionStatus
	}{
		{"function_status_minimal.json", FunctionStatus{
			Name: "fn", Image: "fn:latest", Namespace: DefaultNamespace,
			Labels: map[string]string{}, Annotations: map[string]string{},
		}},
		{"function_status_full.json", FunctionStatus{
			Name: "fn", Image: "127.0.0.1:8080/fn:0.1", Namespace: "dev", EnvProcess: "python3 index.py",
			EnvVars: map[string]string{"write_timeout": "10s"}, Constraints: []string{"node.platform.os == linux"},
			Secrets: []string{"b", "a"}, Labels: map[string]string{"faas_function": "fn", "com.openfaas.scale.min": "2"},
			Annotations: map[string]string{"topic": "x"}, Limits: &FunctionResources{Memory: "128Mi", CPU: "100m"},
			ReadOnlyRootFilesystem: true, InvocationCount: 42, Replicas: 2, AvailableReplicas: 1,
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Usage: &FunctionUsage{CPU: 0.25, TotalMemoryBytes: 1048576},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.st) })
	}
}

func TestGoldenGatewayInfo(t *testing.T) {
	golden(t, "gateway_info.json", GatewayInfo{
		Provider: &ProviderInfo{Name: "fjord", Orchestration: "process", Version: &VersionInfo{SHA: "3f2c1ab", Release: "0.4.0"}},
		Version:  &VersionInfo{CommitMessage: "Add router", SHA: "3f2c1ab", Release: "0.4.0"},
		Arch:     "amd64",
	})
}

func TestGoldenOtherBodies(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"secret_list_item.json", Secret{Name: "token", Namespace: DefaultNamespace}},
		{"log_message.json", LogMessage{Name: "fn", Namespace: DefaultNamespace, Instance: "fn-abc",
			Timestamp: time.Date(2023, 7, 4, 16, 32, 22, 220000000, time.UTC), Text: "Forking fprocess.\n"}},
		{"namespace.json", FunctionNamespace{Name: "dev", Labels: map[string]string{"openfaas": "1"}}},
		{"scale_request.json", ScaleServiceRequest{ServiceName: "fn", Replicas: 0}},
		{"delete_request.json", DeleteFunctionRequest{FunctionName: "fn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.v) })
	}
}

func TestDecodeDeployment(t *testing.T) {
	tests := []struct {
		name, body  string
		labels      map[string]string
		annotations map[string]string
	}{
		{"null maps", `{"service":"fn","image":"fn","labels":null,"annotations":null}`, map[string]string{}, map[string]string{}},
		{"empty maps", `{"service":"fn","image":"fn","labels":{},"annotations":{}}`, map[string]string{}, map[string]string{}},
		{"absent", `{"service":"fn","image":"fn","network":"func_functions","registryAuth":"x"}`, map[string]string{}, map[string]string{}},
		{"set", `{"service":"fn","image":"fn","labels":{"a":"1"},"annotations":{"b":"2"}}`, map[string]string{"a": "1"}, map[string]string{"b": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d FunctionDeployment
			if err := json.Unmarshal([]byte(tt.body), &d); err != nil {
				t.Fatal(err)
			}
			if !equal(d.LabelMap(), tt.labels) || !equal(d.AnnotationMap(), tt.annotations) {
				t.Fatalf("labels %v annotations %v", d.LabelMap(), d.AnnotationMap())
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
