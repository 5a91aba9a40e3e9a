package build

import (
	"maps"
	"testing"
	"testing/fstest"
)

func TestDockerfileEnv(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		want             map[string]string
	}{
		{"none", "", map[string]string{}},
		{"key value", "FROM x\nENV fprocess python index.py\n", map[string]string{"fprocess": "python index.py"}},
		{"pairs", "FROM x\nENV mode=\"http\" upstream_url=\"http://127.0.0.1:5000\" a=b\n",
			map[string]string{"mode": "http", "upstream_url": "http://127.0.0.1:5000", "a": "b"}},
		{"last stage only", "FROM build\nENV GO111MODULE=on\nFROM run\nENV fprocess=\"./handler\"\n",
			map[string]string{"fprocess": "./handler"}},
		{"continuation", "FROM x\nENV a=1 \\\n    b=\"two words\"\n", map[string]string{"a": "1", "b": "two words"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			if tc.dockerfile != "" {
				fsys["Dockerfile"] = &fstest.MapFile{Data: []byte(tc.dockerfile)}
			}
			got := dockerfileEnv(fsys)
			if got == nil {
				got = map[string]string{}
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
