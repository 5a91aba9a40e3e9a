package control

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

func ref(name string) runtime.Ref { return runtime.Ref{Name: name, Namespace: api.DefaultNamespace} }

func deployment(name string, labels map[string]string) api.FunctionDeployment {
	d := api.FunctionDeployment{Service: name, Image: "img/" + name + ":latest", EnvProcess: "cat"}
	if labels != nil {
		d.Labels = &labels
	}
	return d
}

func TestDeployCreateAndUpdate(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)

	if err := svc.Deploy(ctx, deployment("fn", map[string]string{api.LabelScaleMin: "2"}), false); err != nil {
		t.Fatal(err)
	}
	st, err := svc.Get(ctx, "", "fn", false)
	if err != nil || st.Replicas != 2 || st.AvailableReplicas != 2 {
		t.Fatalf("after create: %+v %v", st, err)
	}
	sp, _ := rt.spec(ref("fn"))
	if sp.Revision != 1 || sp.Replicas != 2 || sp.Env["fprocess"] != "cat" || sp.Labels[api.LabelFaasFunction] != "fn" {
		t.Fatalf("spec after create: %+v", sp)
	}

	err = svc.Deploy(ctx, deployment("fn", nil), false)
	if !errors.Is(err, api.ErrExists) || !strings.Contains(err.Error(), "function fn already exists in namespace openfaas-fn, use PUT to update") {
		t.Fatalf("second POST: %v", err)
	}
	if err := svc.Deploy(ctx, deployment("missing", nil), true); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("PUT of missing: %v", err)
	}

	// Update with min=1 keeps the current 2 replicas and rolls a new revision.
	d := deployment("fn", map[string]string{api.LabelScaleMin: "1"})
	d.EnvVars = map[string]string{"fprocess": "wc", "exec_timeout": "5s"}
	if err := svc.Deploy(ctx, d, true); err != nil {
		t.Fatal(err)
	}
	sp, _ = rt.spec(ref("fn"))
	if sp.Revision != 2 || sp.Replicas != 2 || sp.Env["fprocess"] != "wc" {
		t.Fatalf("spec after update: %+v", sp)
	}
	if info, ok := svc.Lookup(ref("fn")); !ok || info.Timeout.Seconds() != 5 {
		t.Fatalf("lookup after update: %+v %v", info, ok)
	}
}

func TestUpdateReplicaRules(t *testing.T) {
	tests := []struct {
		name           string
		scaleTo        uint64
		newMin, newMax string
		want           int
	}{
		{"zero stays zero when min is 0", 0, "0", "", 0},
		{"zero raised to min", 0, "3", "", 3},
		{"current kept above min", 4, "2", "", 4},
		{"current lowered to new max", 4, "1", "2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			svc, _ := fixture(t, t.TempDir(), newFake())
			if err := svc.Deploy(ctx, deployment("fn", nil), false); err != nil {
				t.Fatal(err)
			}
			if err := svc.Scale(ctx, "", "fn", tt.scaleTo); err != nil {
				t.Fatal(err)
			}
			labels := map[string]string{api.LabelScaleMin: tt.newMin}
			if tt.newMax != "" {
				labels[api.LabelScaleMax] = tt.newMax
			}
			if err := svc.Deploy(ctx, deployment("fn", labels), true); err != nil {
				t.Fatal(err)
			}
			if st, _ := svc.Get(ctx, "", "fn", false); st.Replicas != uint64(tt.want) {
				t.Fatalf("replicas %d, want %d", st.Replicas, tt.want)
			}
		})
	}
}

func TestDeployValidation(t *testing.T) {
	ctx := context.Background()
	svc, _ := fixture(t, t.TempDir(), newFake())
	withSecret := deployment("fn", nil)
	withSecret.Secrets = []string{"nope"}
	otherNS := deployment("fn", nil)
	otherNS.Namespace = "ghost"
	tests := []struct {
		name string
		d    api.FunctionDeployment
		want error
		msg  string
	}{
		{"bad name", deployment("Bad.Name", nil), api.ErrInvalid, "function name"},
		{"no image", api.FunctionDeployment{Service: "x"}, api.ErrInvalid, "image is required"},
		{"missing secret", withSecret, api.ErrInvalid, "unable to find secret: nope"},
		{"unknown namespace", otherNS, api.ErrUnknownNamespace, "ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.Deploy(ctx, tt.d, false)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestDeployRolledBackWhenRuntimeRejects(t *testing.T) {
	ctx := context.Background()
	rt := newFake()
	svc, _ := fixture(t, t.TempDir(), rt)
	rt.applyErr = runtime.ErrUnsupported
	if err := svc.Deploy(ctx, deployment("fn", nil), false); !errors.Is(err, runtime.ErrUnsupported) {
		t.Fatalf("got %v", err)
	}
	if _, err := svc.Get(ctx, "", "fn", false); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("rejected function was kept: %v", err)
	}
	if _, ok := svc.Lookup(ref("fn")); ok {
		t.Fatal("rejected function is in the lookup table")
	}
}

func TestStatusSerialisation(t *testing.T) {
	ctx := context.Background()
	svc, _ := fixture(t, t.TempDir(), richRuntime{newFake()})
	d := deployment("fn", nil)
	d.Constraints = []string{"b", "a"}
	d.Limits = &api.FunctionResources{Memory: "5Mi"}
	if err := svc.Deploy(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	st, err := svc.Get(ctx, "", "fn", true)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, absent := range []string{"envVars", "requests", "invocationCount"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s present in %s", absent, raw)
		}
	}
	if st.Labels[api.LabelFaasFunction] != "fn" || st.Annotations == nil {
		t.Errorf("labels/annotations: %s", raw)
	}
	if st.Image != d.Image || st.Limits.Memory != "5Mi" || strings.Join(st.Constraints, ",") != "b,a" {
		t.Errorf("echo: %s", raw)
	}
	if st.Usage == nil || st.Usage.CPU != 0.25 || st.Usage.TotalMemoryBytes != 4096 {
		t.Errorf("usage: %s", raw)
	}
	if _, ok := m["createdAt"]; !ok || st.CreatedAt.IsZero() {
		t.Errorf("createdAt: %s", raw)
	}
	if st, _ := svc.Get(ctx, "", "fn", false); st.Usage != nil {
		t.Error("usage reported without being asked for")
	}
}

func TestListInvocationCount(t *testing.T) {
	ctx := context.Background()
	svc, _ := fixture(t, t.TempDir(), newFake())
	for _, n := range []string{"counted", "other"} {
		if err := svc.Deploy(ctx, deployment(n, nil), false); err != nil {
			t.Fatal(err)
		}
	}
	l, err := svc.List(ctx, "")
	if err != nil || len(l) != 2 {
		t.Fatalf("list: %v %v", l, err)
	}
	if l[0].Name != "counted" || l[0].InvocationCount != 7 || l[0].AvailableReplicas != 1 || l[0].Namespace != api.DefaultNamespace {
		t.Fatalf("first: %+v", l[0])
	}
	if _, err := svc.List(ctx, "ghost"); !errors.Is(err, api.ErrUnknownNamespace) {
		t.Fatalf("unknown namespace: %v", err)
	}
}
