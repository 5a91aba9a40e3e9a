package stack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseFileFull(t *testing.T) {
	st, err := ParseFile("testdata/full.yml", ParseOptions{EnvSubst: true, Env: envOf(map[string]string{"TAG": "0.2"})})
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	if st.Provider.Gateway != "http://127.0.0.1:9999" {
		t.Errorf("gateway = %q", st.Provider.Gateway)
	}
	fn := st.Functions["hello"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", fn.Name, "hello"},
		{"image", fn.Image, "ghcr.io/acme/hello:0.2"},
		{"fprocess", fn.FProcess, "python index.py"},
		{"namespace", fn.Namespace, "staging"},
		{"environment", fn.Environment, map[string]string{
			"write_debug": "true", "replicas": "2", "ratio": "0.50", "mode": "two", "only_one": "1", "debug": "false"}},
		{"labels", fn.Labels, map[string]string{"com.openfaas.scale.min": "2", "com.openfaas.scale.zero": "true"}},
		{"annotations", fn.Annotations, map[string]string{"topic": "orders"}},
		{"secrets", fn.Secrets, []string{"db-pass", "api-key"}},
		{"constraints", fn.Constraints, []string{"node.platform.os == linux"}},
		{"limits", *fn.Limits, Resources{Memory: "128Mi", CPU: "100m"}},
		{"requests", *fn.Requests, Resources{Memory: "64Mi", CPU: "50m"}},
		{"readonly", fn.ReadOnlyRootFilesystem, true},
		{"build_options", fn.BuildOptions, []string{"dev"}},
		{"build_args", fn.BuildArgs, map[string]string{"GO111MODULE": "on"}},
		{"build_secrets", fn.BuildSecrets, map[string]string{"token": "./token.txt"}},
		{"platforms", fn.Platforms, "linux/amd64,linux/arm64"},
		{"dockerfile lang", st.Functions["docker-fn"].Lang, "dockerfile"},
		{"skip_build", st.Functions["docker-fn"].SkipBuild, true},
		{"templates", st.Configuration.Templates, []TemplateSource{{Name: "golang-middleware", Source: "https://github.com/openfaas/golang-http-template"}}},
		{"copy", st.Configuration.Copy, []string{"common"}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no provider", "functions: {a: {image: a}}", "provider.name is required"},
		{"faas provider", "provider: {name: faas}\nfunctions: {a: {image: a}}", `provider.name "faas" is not supported`},
		{"bad version", "version: \"2.0\"\nprovider: {name: openfaas}", "unsupported stack version"},
		{"bad yaml", "provider: [", "parse yaml"},
		{"unterminated var", "provider: {name: ${X}\nfunctions: ${Y", "unterminated variable"},
		{"bad var", "provider: {name: ${1X}}", "invalid variable reference"},
		{"no image", "provider: {name: openfaas}\nfunctions: {a: {handler: ./a}}", "image is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), ParseOptions{EnvSubst: true, Env: envOf(nil)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFileErrorsNameFile(t *testing.T) {
	for _, f := range []string{"testdata/bad-provider.yml", "testdata/missing-envfile.yml", "testdata/absent.yml"} {
		t.Run(f, func(t *testing.T) {
			_, err := ParseFile(f, DefaultParseOptions())
			if err == nil || !strings.Contains(err.Error(), filepath.Base(f)) {
				t.Fatalf("err = %v, want the file name in it", err)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	env := envOf(map[string]string{"A": "x", "EMPTY": ""})
	tests := []struct{ in, want string }{
		{"${A}", "x"},
		{"${A:-d}", "x"},
		{"${B:-d}", "d"},
		{"${EMPTY:-d}", "d"},
		{"${B}", ""},
		{"a-${A}-${B:-http://h:1/p}-z", "a-x-http://h:1/p-z"},
		{"$A and $", "$A and $"},
		{"$${A}", "${A}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := substitute(tt.in, env)
			if err != nil || got != tt.want {
				t.Fatalf("substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEnvSubstOff(t *testing.T) {
	st, err := Parse([]byte("provider: {name: fjord}\nfunctions: {a: {image: \"${X}\"}}"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Functions["a"].Image; got != "${X}" {
		t.Fatalf("image = %q, want it untouched", got)
	}
}

func TestFindFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := FindFile(dir); err == nil {
		t.Fatal("want an error in an empty dir")
	}
	for _, name := range []string{"stack.yml", "stack.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := FindFile(dir)
		if err != nil || filepath.Base(got) != name {
			t.Fatalf("after writing %s: got %q, %v", name, got, err)
		}
	}
}

func TestSelect(t *testing.T) {
	st := &Stack{Functions: map[string]Function{"api-a": {Name: "api-a"}, "api-b": {Name: "api-b"}, "web": {Name: "web"}}}
	tests := []struct {
		filter, regex string
		want          []string
	}{
		{"", "", []string{"api-a", "api-b", "web"}},
		{"api-*", "", []string{"api-a", "api-b"}},
		{"", "-b$", []string{"api-b"}},
		{"api-*", "a$", []string{"api-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter+"|"+tt.regex, func(t *testing.T) {
			fns, err := st.Select(tt.filter, tt.regex)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fns {
				got = append(got, f.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGatewayURL(t *testing.T) {
	yamlGW := &Stack{Provider: Provider{Gateway: "HTTP://Yaml:8080/"}}
	tests := []struct {
		name    string
		flag    string
		changed bool
		st      *Stack
		env     string
		want    string
	}{
		{"flag wins", "http://flag:1", true, yamlGW, "http://env:1", "http://flag:1"},
		{"non-default flag", "flag:1/", false, yamlGW, "", "http://flag:1"},
		{"yaml next", DefaultGateway, false, yamlGW, "http://env:1", "http://yaml:8080"},
		{"env next", DefaultGateway, false, &Stack{}, "env.example:31112", "http://env.example:31112"},
		{"yaml default skipped", DefaultGateway, false, &Stack{Provider: Provider{Gateway: DefaultGateway}}, "http://env:1", "http://env:1"},
		{"default", DefaultGateway, false, nil, "", DefaultGateway},
		{"explicit default flag", DefaultGateway, true, yamlGW, "", DefaultGateway},
		{"https kept", "https://GW.example.com//", true, nil, "", "https://gw.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatewayURL(tt.flag, tt.changed, tt.st, tt.env); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
