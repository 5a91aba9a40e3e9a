package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
)

func openTemp(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(dir, "state.db"), Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func record(ns, name string) FunctionRecord {
	return FunctionRecord{
		Deployment: api.FunctionDeployment{Service: name, Namespace: ns, Image: "img:" + name},
		Replicas:   1, Revision: 1, CreatedAt: time.Unix(100, 0).UTC(),
	}
}

func TestFunctionsCRUD(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	defer s.Close()

	if err := s.CreateFunction(ctx, record(api.DefaultNamespace, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunction(ctx, record(api.DefaultNamespace, "a")); !errors.Is(err, api.ErrExists) {
		t.Fatalf("second create: want ErrExists, got %v", err)
	}
	if err := s.CreateFunction(ctx, record("nope", "a")); !errors.Is(err, api.ErrUnknownNamespace) {
		t.Fatalf("unknown ns: want ErrUnknownNamespace, got %v", err)
	}
	rec, err := s.UpdateFunction(ctx, api.DefaultNamespace, "a", func(r *FunctionRecord) error {
		r.Replicas = 3
		return nil
	})
	if err != nil || rec.Replicas != 3 {
		t.Fatalf("update: %v %+v", err, rec)
	}
	if _, err := s.UpdateFunction(ctx, api.DefaultNamespace, "zz", func(*FunctionRecord) error { return nil }); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("update missing: want ErrNotFound, got %v", err)
	}
	got, err := s.GetFunction(ctx, api.DefaultNamespace, "a")
	if err != nil || got.Replicas != 3 || got.Deployment.Image != "img:a" {
		t.Fatalf("get: %v %+v", err, got)
	}
	if err := s.CreateNamespace(ctx, api.FunctionNamespace{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFunction(ctx, record("dev", "b")); err != nil {
		t.Fatal(err)
	}
	for ns, want := range map[string]int{"": 2, api.DefaultNamespace: 1, "dev": 1, "de": 0} {
		l, err := s.ListFunctions(ctx, ns)
		if err != nil || len(l) != want {
			t.Errorf("list %q: got %d (%v), want %d", ns, len(l), err, want)
		}
	}
	if err := s.DeleteFunction(ctx, api.DefaultNamespace, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetFunction(ctx, api.DefaultNamespace, "a"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("get deleted: want ErrNotFound, got %v", err)
	}
	if err := s.DeleteFunction(ctx, api.DefaultNamespace, "a"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("delete deleted: want ErrNotFound, got %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	defer s.Close()

	if _, err := s.GetNamespace(ctx, api.DefaultNamespace); err != nil {
		t.Fatalf("default namespace missing: %v", err)
	}
	ns := api.FunctionNamespace{Name: "dev", Labels: map[string]string{"openfaas": "1"}}
	if err := s.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	_ = s.CreateSecret(ctx, "dev", "k", []byte("v"))
	_ = s.CreateFunction(ctx, record("dev", "f"))
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"create existing", func() error { return s.CreateNamespace(ctx, ns) }, api.ErrExists},
		{"update missing", func() error { return s.UpdateNamespace(ctx, api.FunctionNamespace{Name: "x"}) }, api.ErrNotFound},
		{"delete default", func() error { return s.DeleteNamespace(ctx, api.DefaultNamespace) }, api.ErrInvalid},
		{"delete with functions", func() error { return s.DeleteNamespace(ctx, "dev") }, api.ErrInvalid},
		{"delete missing", func() error { return s.DeleteNamespace(ctx, "x") }, api.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
		})
	}
	_ = s.DeleteFunction(ctx, "dev", "f")
	if err := s.DeleteNamespace(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.ListSecrets(ctx, "dev"); len(l) != 0 {
		t.Fatalf("secrets of a deleted namespace remain: %v", l)
	}
	if l, _ := s.ListNamespaces(ctx); len(l) != 1 || l[0].Name != api.DefaultNamespace {
		t.Fatalf("namespaces: %+v", l)
	}
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	defer s.Close()
	ns := api.DefaultNamespace

	raw := []byte("  line\n\x00binary ")
	if err := s.CreateSecret(ctx, ns, "k", raw); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSecret(ctx, ns, "k", raw); !errors.Is(err, api.ErrExists) {
		t.Fatalf("want ErrExists, got %v", err)
	}
	if err := s.UpdateSecret(ctx, ns, "missing", raw); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if err := s.CreateSecret(ctx, "nope", "k", raw); !errors.Is(err, api.ErrUnknownNamespace) {
		t.Fatalf("want ErrUnknownNamespace, got %v", err)
	}
	got, err := s.GetSecret(ctx, ns, "k")
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("get: %q %v", got, err)
	}
	if err := s.UpdateSecret(ctx, ns, "k", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSecret(ctx, ns, "k"); string(got) != "new" {
		t.Fatalf("after update: %q", got)
	}
	if l, _ := s.ListSecrets(ctx, ns); len(l) != 1 || l[0].Name != "k" || l[0].Namespace != ns || l[0].Value != "" {
		t.Fatalf("list: %+v", l)
	}
	if err := s.DeleteSecret(ctx, ns, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSecret(ctx, ns, "k"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if err := s.DeleteSecret(ctx, ns, "k"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestPersistenceAndEncryptionAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const value = "super-secret-value-4242"
	s := openTemp(t, dir)
	if err := s.CreateFunction(ctx, record(api.DefaultNamespace, "f")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSecret(ctx, api.DefaultNamespace, "db", []byte(value)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(value)) {
		t.Fatal("state file holds the secret value in plain text")
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || fi.Size() != 32 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}

	s = openTemp(t, dir)
	defer s.Close()
	if rec, err := s.GetFunction(ctx, api.DefaultNamespace, "f"); err != nil || rec.Deployment.Image != "img:f" {
		t.Fatalf("after reopen: %+v %v", rec, err)
	}
	if got, err := s.GetSecret(ctx, api.DefaultNamespace, "db"); err != nil || string(got) != value {
		t.Fatalf("secret after reopen: %q %v", got, err)
	}
}

func TestWrongKeyFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTemp(t, dir)
	_ = s.CreateSecret(ctx, api.DefaultNamespace, "db", []byte("v"))
	_ = s.Close()

	other := filepath.Join(t.TempDir(), "other.key")
	s, err := Open(filepath.Join(dir, "state.db"), Options{KeyPath: other})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetSecret(ctx, api.DefaultNamespace, "db"); err == nil {
		t.Fatal("decrypting with another key succeeded")
	}
}

func TestLockTimeout(t *testing.T) {
	dir := t.TempDir()
	s := openTemp(t, dir)
	defer s.Close()
	path := filepath.Join(dir, "state.db")
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 200 * time.Millisecond})
	if err == nil {
		t.Fatal("second open succeeded")
	}
	want := "state file " + path + " is in use by another fjord daemon"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("lock wait took %s", d)
	}
}

func TestBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	kp := filepath.Join(dir, "short.key")
	if err := os.WriteFile(kp, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(dir, "state.db"), Options{KeyPath: kp})
	if err == nil || !strings.Contains(err.Error(), "want 32 bytes") {
		t.Fatalf("got %v", err)
	}
}
