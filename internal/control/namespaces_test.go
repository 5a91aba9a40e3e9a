package control

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
)

func TestNamespaceRules(t *testing.T) {
	ctx := context.Background()
	svc, _ := fixture(t, t.TempDir(), newFake())
	ok := map[string]string{"openfaas": "1"}
	for _, n := range []string{"zeta", "alpha"} {
		if err := svc.CreateNamespace(ctx, api.FunctionNamespace{Name: n, Labels: ok}); err != nil {
			t.Fatal(err)
		}
	}
	d := deployment("fn", nil)
	d.Namespace = "zeta"
	if err := svc.Deploy(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"create without label", func() error { return svc.CreateNamespace(ctx, api.FunctionNamespace{Name: "x"}) }, api.ErrInvalid},
		{"create existing", func() error { return svc.CreateNamespace(ctx, api.FunctionNamespace{Name: "alpha", Labels: ok}) }, api.ErrExists},
		{"create default", func() error {
			return svc.CreateNamespace(ctx, api.FunctionNamespace{Name: api.DefaultNamespace, Labels: ok})
		}, api.ErrExists},
		{"update without label", func() error { return svc.UpdateNamespace(ctx, api.FunctionNamespace{Name: "alpha"}) }, api.ErrInvalid},
		{"update missing", func() error { return svc.UpdateNamespace(ctx, api.FunctionNamespace{Name: "nope", Labels: ok}) }, api.ErrNotFound},
		{"get missing", func() error { _, err := svc.GetNamespace(ctx, "nope"); return err }, api.ErrNotFound},
		{"delete default", func() error { return svc.DeleteNamespace(ctx, api.DefaultNamespace) }, api.ErrInvalid},
		{"delete with functions", func() error { return svc.DeleteNamespace(ctx, "zeta") }, api.ErrInvalid},
		{"delete missing", func() error { return svc.DeleteNamespace(ctx, "nope") }, api.ErrNotFound},
		{"system call on unknown", func() error { _, err := svc.ListSecrets(ctx, "nope"); return err }, api.ErrUnknownNamespace},
		{"get function in unknown", func() error { _, err := svc.Get(ctx, "nope", "fn", false); return err }, api.ErrUnknownNamespace},
		{"update", func() error {
			return svc.UpdateNamespace(ctx, api.FunctionNamespace{Name: "alpha", Labels: ok, Annotations: map[string]string{"a": "b"}})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	got, err := svc.ListNamespaces(ctx)
	if err != nil || !slices.Equal(got, []string{api.DefaultNamespace, "alpha", "zeta"}) {
		t.Fatalf("list: %v %v", got, err)
	}
	if ns, _ := svc.GetNamespace(ctx, "alpha"); ns.Annotations["a"] != "b" {
		t.Fatalf("annotations not updated: %+v", ns)
	}
	if err := svc.Remove(ctx, "zeta", "fn"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteNamespace(ctx, "zeta"); err != nil {
		t.Fatal(err)
	}
}

func TestSecretRules(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)
	s := api.Secret{Name: "db", Value: "ignored", RawValue: []byte("raw\n")}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"create", func() error { return svc.CreateSecret(ctx, s) }, nil},
		{"create existing", func() error { return svc.CreateSecret(ctx, s) }, api.ErrExists},
		{"bad name", func() error { return svc.CreateSecret(ctx, api.Secret{Name: "../x"}) }, api.ErrInvalid},
		{"update missing", func() error { return svc.UpdateSecret(ctx, api.Secret{Name: "nope", Value: "v"}) }, api.ErrNotFound},
		{"delete missing", func() error { return svc.DeleteSecret(ctx, "", "nope") }, api.ErrNotFound},
		{"unknown namespace", func() error { return svc.CreateSecret(ctx, api.Secret{Name: "a", Namespace: "ghost"}) }, api.ErrUnknownNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	l, err := svc.ListSecrets(ctx, "")
	if err != nil || len(l) != 1 || l[0].Name != "db" || l[0].Namespace != api.DefaultNamespace || l[0].Value != "" || l[0].RawValue != nil {
		t.Fatalf("list: %+v %v", l, err)
	}

	// A redeploy picks up a changed secret value.
	d := deployment("fn", nil)
	d.Secrets = []string{"db"}
	if err := svc.Deploy(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	if sp, _ := rt.spec(ref("fn")); string(sp.Secrets[0].Data) != "raw\n" {
		t.Fatalf("secret bytes %q", sp.Secrets[0].Data)
	}
	if err := svc.UpdateSecret(ctx, api.Secret{Name: "db", Value: "v2"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Deploy(ctx, d, true); err != nil {
		t.Fatal(err)
	}
	if sp, _ := rt.spec(ref("fn")); string(sp.Secrets[0].Data) != "v2" || sp.Revision != 2 {
		t.Fatalf("after redeploy: %q rev %d", sp.Secrets[0].Data, sp.Revision)
	}
	if err := svc.DeleteSecret(ctx, "", "db"); err != nil {
		t.Fatal(err)
	}
}
