package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/client"
	"github.com/fjord-faas/fjord/internal/client/clienttest"
)

func methods(calls []clienttest.Call) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+" "+c.Path)
	}
	return strings.Join(out, ", ")
}

func TestDeploy(t *testing.T) {
	tests := []struct {
		name     string
		existing bool
		opts     client.DeployOptions
		want     string
	}{
		{"new: PUT 404 then POST", false, client.DeployOptions{}, "PUT /system/functions, POST /system/functions"},
		{"existing: PUT only", true, client.DeployOptions{}, "PUT /system/functions"},
		{"replace existing: DELETE then POST", true, client.DeployOptions{Replace: true}, "DELETE /system/functions, POST /system/functions"},
		{"replace new: DELETE 404 then POST", false, client.DeployOptions{Replace: true}, "DELETE /system/functions, POST /system/functions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := clienttest.New(t)
			if tt.existing {
				gw.AddFunction(api.FunctionStatus{Name: "fn", Image: "old"})
			}
			c := client.New(gw.URL, client.Options{Username: "admin", Password: "pw"})
			code, err := c.Deploy(context.Background(), api.FunctionDeployment{Service: "fn", Image: "new:1"}, tt.opts)
			if err != nil || code != http.StatusAccepted {
				t.Fatalf("Deploy = %d, %v", code, err)
			}
			if got := methods(gw.Calls()); got != tt.want {
				t.Fatalf("calls = %s, want %s", got, tt.want)
			}
			f, _ := gw.Function("fn", api.DefaultNamespace)
			if f.Image != "new:1" {
				t.Fatalf("image = %q", f.Image)
			}
			for _, c := range gw.Calls() {
				if u, p, _ := (&http.Request{Header: c.Header}).BasicAuth(); u != "admin" || p != "pw" {
					t.Fatalf("%s %s without basic auth", c.Method, c.Path)
				}
				if c.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(c.Header.Get("User-Agent"), "fjord/") {
					t.Fatalf("headers = %v", c.Header)
				}
			}
		})
	}
}

func TestErrorsCarryStatusAndBody(t *testing.T) {
	gw := clienttest.New(t)
	gw.User, gw.Password = "admin", "secret"
	ctx := context.Background()
	bad := client.New(gw.URL, client.Options{Username: "admin", Password: "wrong"})
	_, err := bad.List(ctx, "")
	if client.StatusCode(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "invalid credentials") {
		t.Fatalf("List err = %v", err)
	}
	good := client.New(gw.URL, client.Options{Username: "admin", Password: "secret"})
	err = good.Scale(ctx, "nope", "", 2)
	var se *client.StatusError
	if !errors.As(err, &se) || se.Status != 404 || se.Body != "function not found" {
		t.Fatalf("Scale err = %#v", err)
	}
	if !strings.Contains(err.Error(), "404 Not Found: function not found") {
		t.Fatalf("message = %q", err.Error())
	}
}

func TestSecrets(t *testing.T) {
	gw := clienttest.New(t)
	c := client.New(gw.URL, client.Options{})
	ctx := context.Background()
	if err := c.CreateSecret(ctx, api.Secret{Name: "s", Value: "v1"}, false); err != nil {
		t.Fatal(err)
	}
	err := c.CreateSecret(ctx, api.Secret{Name: "s", Value: "v2"}, false)
	if client.StatusCode(err) != http.StatusConflict {
		t.Fatalf("second create err = %v, want 409", err)
	}
	if err := c.CreateSecret(ctx, api.Secret{Name: "s", Value: "v3"}, true); err != nil {
		t.Fatalf("create --replace: %v", err)
	}
	if v, _ := gw.Secret("s", api.DefaultNamespace); string(v) != "v3" {
		t.Fatalf("value = %q", v)
	}
	list, err := c.ListSecrets(ctx, "")
	if err != nil || len(list) != 1 || list[0].Name != "s" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := c.RemoveSecret(ctx, "s", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateSecret(ctx, api.Secret{Name: "s", Value: "x"}); client.StatusCode(err) != 404 {
		t.Fatalf("update missing = %v", err)
	}
}

func TestGetListScaleRemove(t *testing.T) {
	gw := clienttest.New(t)
	gw.AddFunction(api.FunctionStatus{Name: "fn", Image: "img", Replicas: 1})
	c := client.New(gw.URL, client.Options{})
	ctx := context.Background()
	f, err := c.Get(ctx, "fn", "")
	if err != nil || f.Usage == nil || f.Image != "img" {
		t.Fatalf("Get = %+v, %v", f, err)
	}
	if calls := gw.Calls(); calls[0].Query != "usage=1" {
		t.Fatalf("query = %q", calls[0].Query)
	}
	if err := c.Scale(ctx, "fn", "", 3); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, api.DefaultNamespace)
	if err != nil || len(list) != 1 || list[0].Replicas != 3 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := c.Remove(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "fn", ""); client.StatusCode(err) != 404 {
		t.Fatalf("Get after remove = %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	gw := clienttest.New(t)
	c := client.New(gw.URL, client.Options{})
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, api.FunctionNamespace{Name: "team", Labels: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	ns, err := c.GetNamespace(ctx, "team")
	if err != nil || ns.Labels["openfaas"] != "1" || ns.Labels["a"] != "b" || ns.Annotations["openfaas"] != "1" {
		t.Fatalf("GetNamespace = %+v, %v", ns, err)
	}
	all, err := c.Namespaces(ctx)
	if err != nil || strings.Join(all, ",") != "openfaas-fn,team" {
		t.Fatalf("Namespaces = %v, %v", all, err)
	}
	if err := c.UpdateNamespace(ctx, api.FunctionNamespace{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNamespace(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateNamespace(ctx, api.FunctionNamespace{Name: "openfaas-fn"}); client.StatusCode(err) != 409 {
		t.Fatalf("create existing = %v", err)
	}
}

func TestInvoke(t *testing.T) {
	gw := clienttest.New(t)
	c := client.New(gw.URL, client.Options{Username: "admin", Password: "pw"})
	ctx := context.Background()
	res, err := c.Invoke(ctx, client.InvokeRequest{
		Name: "fn", Method: http.MethodPut, Query: url.Values{"x": {"1"}},
		Header: http.Header{"X-Test": {"yes"}}, ContentType: "text/csv", Body: strings.NewReader("hi"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Body); res.Status != 200 || got != "PUT fn.openfaas-fn q=x=1 h=yes body=hi" {
		t.Fatalf("Invoke = %d %q", res.Status, got)
	}
	if res.Header.Get("Content-Type") != "text/csv" {
		t.Fatalf("content type = %q", res.Header.Get("Content-Type"))
	}
	if h := gw.Calls()[0].Header.Get("Authorization"); h != "" {
		t.Fatalf("invoke sent Authorization %q", h)
	}
	res, err = c.Invoke(ctx, client.InvokeRequest{Name: "missing", Namespace: "team"})
	if err != nil || res.Status != 404 {
		t.Fatalf("missing = %+v, %v", res, err)
	}
	id, err := c.InvokeAsync(ctx, client.InvokeRequest{Name: "fn", Body: strings.NewReader("x"), CallbackURL: "http://127.0.0.1:1/cb"})
	if err != nil || id != "call-1" {
		t.Fatalf("InvokeAsync = %q, %v", id, err)
	}
	last := gw.Calls()[len(gw.Calls())-1]
	if last.Path != "/async-function/fn.openfaas-fn" || last.Header.Get("X-Callback-Url") == "" {
		t.Fatalf("async call = %+v", last)
	}
}

func TestLogsAndInfo(t *testing.T) {
	gw := clienttest.New(t)
	gw.Logs = []api.LogMessage{{Name: "fn", Text: "one\n"}, {Name: "fn", Text: "two\n"}}
	c := client.New(gw.URL, client.Options{})
	ctx := context.Background()
	var got []string
	err := c.Logs(ctx, client.LogsRequest{Name: "fn", Tail: 5}, func(m api.LogMessage) error {
		got = append(got, m.Text)
		return nil
	})
	if err != nil || strings.Join(got, "") != "one\ntwo\n" {
		t.Fatalf("Logs = %q, %v", got, err)
	}
	if q := gw.Calls()[0].Query; q != "follow=false&name=fn&tail=5" {
		t.Fatalf("query = %q", q)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Provider.Name != "fjord" || info.Provider.Version.Release != "0.4.0" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}
