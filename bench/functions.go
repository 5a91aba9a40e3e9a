package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// fn is one benchmark function: its template and the handler the bench writes.
type fn struct {
	name, lang, file, code string
}

// The warm functions are built and deployed with `fjord new` + `fjord up`.
var warmFns = []fn{
	{name: "bench-go", lang: "go", file: "handler.go", code: "package function\n\nimport \"net/http\"\n\n// Handle answers ok.\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n\tw.Header().Set(\"Content-Type\", \"text/plain\")\n\t_, _ = w.Write([]byte(\"ok\\n\"))\n}\n"},
	{name: "bench-bash", lang: "bash", file: "handler.sh", code: "#!/bin/bash\necho ok\n"},
	{name: "bench-python3", lang: "python3", file: "handler.py", code: "def handle(req):\n    return 'ok'\n"},
	{name: "bench-node", lang: "node", file: "handler.js", code: "module.exports = async (event, context) => 'ok';\n"},
}

// deployWarm creates, builds, pushes and deploys warmFns in one stack folder
// and waits until each answers through the gateway. It returns the folder.
func deployWarm(ctx context.Context, d *daemon, dir string) error {
	if err := d.cli(ctx, dir, d.password, "login", "--gateway", "http://"+d.addr, "-u", d.user, "--password-stdin"); err != nil {
		return err
	}
	for _, f := range warmFns {
		if err := d.cli(ctx, dir, "", "new", f.name, "--lang", f.lang); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name, f.file), []byte(f.code), 0o755); err != nil {
			return fmt.Errorf("write handler: %w", err)
		}
	}
	if err := d.cli(ctx, dir, "", "up"); err != nil {
		return err
	}
	for _, f := range warmFns {
		if err := waitOK(ctx, d.url("/function/"+f.name), 90*time.Second); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// waitOK polls url until it answers 200 or the timeout passes.
// waitClient also reaches servers on Unix sockets (URLs from sockaddr.URLHost).
var waitClient = &http.Client{Transport: &http.Transport{DialContext: (&sockaddr.Dialer{}).DialContext}}

func waitOK(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := waitClient.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %s", url, timeout, last)
}

// status returns the function's status from the gateway.
func (d *daemon) status(ctx context.Context, name string) (api.FunctionStatus, error) {
	var st api.FunctionStatus
	err := d.api(ctx, http.MethodGet, "/system/function/"+name, nil, &st)
	return st, err
}

// deployZero deploys name from image with scale.min 0, so it starts at zero replicas.
func (d *daemon) deployZero(ctx context.Context, name, image string) error {
	labels := map[string]string{"com.openfaas.scale.min": "0"}
	return d.api(ctx, http.MethodPost, "/system/functions",
		api.FunctionDeployment{Service: name, Image: image, Labels: &labels}, nil)
}

// scale asks the gateway for n replicas of name.
func (d *daemon) scale(ctx context.Context, name string, n uint64) error {
	return d.api(ctx, http.MethodPost, "/system/scale-function/"+name,
		api.ScaleServiceRequest{ServiceName: name, Replicas: n}, nil)
}

// waitReplicas polls until the function has exactly n available replicas.
func (d *daemon) waitReplicas(ctx context.Context, name string, n uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := d.status(ctx, name)
		if err != nil {
			return err
		}
		// At zero, also wait until the last replica has stopped (no stopping
		// instance left), so a cold start never overlaps the previous shutdown.
		if st.AvailableReplicas == n && (n > 0 || st.Replicas == 0 && len(st.Instances) == 0) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s: not at %d replicas after %s", name, n, timeout)
}
