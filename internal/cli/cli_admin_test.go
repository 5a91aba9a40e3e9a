package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/client"
)

func TestLoginCmd(t *testing.T) {
	gw := cliEnv(t)
	gw.User, gw.Password = "admin", "s3cret"
	_, _, err := runCLI(t, "wrong\n", "login", "-g", gw.URL, "-u", "admin", "--password-stdin")
	if err == nil || err.Error() != "unable to login: invalid credentials" {
		t.Fatalf("bad login: %v", err)
	}
	if _, _, err := runCLI(t, "", "list", "-g", gw.URL); client.StatusCode(err) != 401 {
		t.Fatalf("list before login: %v", err)
	}
	wantContains(t, mustRun(t, "s3cret\n", "login", "-g", gw.URL, "-u", "admin", "--password-stdin"), "credentials saved for admin")
	creds, err := client.LoadAuth(gw.URL)
	if err != nil || creds.Password != "s3cret" {
		t.Fatalf("stored = %+v, %v", creds, err)
	}
	mustRun(t, "", "list", "-g", gw.URL)
	if _, _, err := runCLI(t, "", "list", "-g", gw.URL, "--password", "nope"); client.StatusCode(err) != 401 {
		t.Fatalf("flag credentials should win: %v", err)
	}
}

func TestNamespaceCmds(t *testing.T) {
	gw := cliEnv(t)
	wantContains(t, mustRun(t, "", "namespace", "create", "team-a", "--label", "env=dev", "-g", gw.URL), "team-a created")
	wantContains(t, mustRun(t, "", "namespaces", "-g", gw.URL), " - openfaas-fn\n", " - team-a\n")
	wantContains(t, mustRun(t, "", "namespace", "list", "-g", gw.URL), "team-a")
	wantContains(t, mustRun(t, "", "namespace", "get", "team-a", "-g", gw.URL), `"env": "dev"`, `"openfaas": "1"`)
	wantContains(t, mustRun(t, "", "namespace", "update", "team-a", "--annotation", "owner=ana", "-g", gw.URL), "updated")
	wantContains(t, mustRun(t, "", "namespace", "remove", "team-a", "-g", gw.URL), "removed")
	_, _, err := runCLI(t, "", "namespace", "get", "team-a", "-g", gw.URL)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("get removed: %v", err)
	}
}

func TestSecretCmds(t *testing.T) {
	gw := cliEnv(t)
	mustRun(t, "", "secret", "create", "db", "--from-literal", " pw1 ", "-g", gw.URL)
	if v, _ := gw.Secret("db", api.DefaultNamespace); string(v) != "pw1" {
		t.Fatalf("value = %q", v)
	}
	_, _, err := runCLI(t, "", "secret", "create", "db", "--from-literal", "pw2", "-g", gw.URL)
	if client.StatusCode(err) != 409 {
		t.Fatalf("create existing: %v", err)
	}
	mustRun(t, "pw3\n", "secret", "create", "db", "--replace", "--trim=false", "-g", gw.URL)
	if v, _ := gw.Secret("db", api.DefaultNamespace); string(v) != "pw3\n" {
		t.Fatalf("value = %q", v)
	}
	if err := os.WriteFile("key.pem", []byte("KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "secret", "update", "db", "--from-file", "key.pem", "-g", gw.URL)
	if v, _ := gw.Secret("db", api.DefaultNamespace); string(v) != "KEY" {
		t.Fatalf("value = %q", v)
	}
	if err := os.MkdirAll(".secrets", 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"db": "new", "api-token": "tok"} {
		if err := os.WriteFile(filepath.Join(".secrets", name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wantContains(t, mustRun(t, "", "secret", "apply", "-g", gw.URL), "Secret api-token applied", "Secret db applied")
	if v, _ := gw.Secret("db", api.DefaultNamespace); string(v) != "new" {
		t.Fatalf("applied value = %q", v)
	}
	wantContains(t, mustRun(t, "", "secret", "list", "-g", gw.URL), "NAME", "api-token", "db")
	mustRun(t, "", "secret", "remove", "db", "-g", gw.URL)
	if _, ok := gw.Secret("db", api.DefaultNamespace); ok {
		t.Fatal("db still there")
	}
	if _, _, err := runCLI(t, "", "secret", "create", "../x", "--from-literal", "v", "-g", gw.URL); err == nil {
		t.Fatal("bad name accepted")
	}
}
