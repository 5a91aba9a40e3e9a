package client_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/client"
)

func TestAuthRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	t.Setenv("OPENFAAS_CONFIG", dir)
	if c, err := client.LoadAuth("http://127.0.0.1:8080"); err != nil || c.Kind != "" {
		t.Fatalf("empty store = %+v, %v", c, err)
	}
	if err := client.SaveAuth("HTTP://127.0.0.1:8080/", "admin", "password"); err != nil {
		t.Fatal(err)
	}
	if err := client.SaveAuth("http://other:8080", "u", "p:with:colons"); err != nil {
		t.Fatal(err)
	}
	if err := client.SaveAuth("http://127.0.0.1:8080", "admin", "password"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "  - gateway: http://127.0.0.1:8080\n    auth: basic\n    token: YWRtaW46cGFzc3dvcmQ=\n"
	if !strings.Contains(string(data), want) || strings.Count(string(data), "127.0.0.1") != 1 {
		t.Fatalf("config.yml =\n%s", data)
	}
	modes := []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, "config.yml"), 0o600}}
	for _, m := range modes {
		fi, err := os.Stat(m.path)
		if err != nil || fi.Mode().Perm() != m.want {
			t.Fatalf("%s mode = %v, %v; want %v", m.path, fi.Mode().Perm(), err, m.want)
		}
	}
	c, err := client.LoadAuth("http://127.0.0.1:8080/")
	if err != nil || c.Username != "admin" || c.Password != "password" || c.Kind != client.AuthBasic {
		t.Fatalf("LoadAuth = %+v, %v", c, err)
	}
	if c, _ := client.LoadAuth("other:8080"); c.Password != "p:with:colons" {
		t.Fatalf("other = %+v", c)
	}
	if err := client.RemoveAuth("http://other:8080"); err != nil {
		t.Fatal(err)
	}
	if c, _ := client.LoadAuth("http://other:8080"); c.Kind != "" {
		t.Fatalf("after remove = %+v", c)
	}
}

func TestAuthReadsFaasCLIFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OPENFAAS_CONFIG", dir)
	file := "auths:\n- gateway: https://gw.example.com\n  auth: oauth2\n  token: tok123\n  options:\n    x: y\n"
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := client.LoadAuth("https://GW.example.com/")
	if err != nil || c.Kind != client.AuthOAuth2 || c.Token != "tok123" {
		t.Fatalf("LoadAuth = %+v, %v", c, err)
	}
}

func TestConfigDir(t *testing.T) {
	tests := []struct{ cfg, ci, want string }{
		{"/x/y", "true", "/x/y"},
		{"", "true", ".openfaas"},
		{"", "1", ".openfaas"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg+tt.ci, func(t *testing.T) {
			t.Setenv("OPENFAAS_CONFIG", tt.cfg)
			t.Setenv("CI", tt.ci)
			if got, _ := client.ConfigDir(); got != tt.want {
				t.Fatalf("ConfigDir = %q, want %q", got, tt.want)
			}
		})
	}
	t.Setenv("OPENFAAS_CONFIG", "")
	t.Setenv("CI", "")
	t.Setenv("HOME", "/home/u")
	if got, _ := client.ConfigDir(); got != "/home/u/.openfaas" {
		t.Fatalf("ConfigDir = %q", got)
	}
}
