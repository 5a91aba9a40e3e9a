package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestUpBuildsPushesDeploys runs new, build, push and deploy against the fake
// gateway, whose /v2/ is an in-memory registry.
func TestUpBuildsPushesDeploys(t *testing.T) {
	gw := cliEnv(t)
	t.Setenv("OPENFAAS_URL", gw.URL)
	mustRun(t, "", "new", "echo", "--lang", "bash")
	_, errOut, err := runCLI(t, "", "build")
	if err != nil {
		t.Fatalf("build: %v\n%s", err, errOut)
	}
	wantContains(t, errOut, "Building: echo (bash) as echo:latest.", "Built: echo")
	if _, err := os.Stat("build/echo/index.json"); err != nil {
		t.Fatalf("no OCI layout: %v", err)
	}
	out, errOut, err := runCLI(t, "", "up", "--skip-deploy")
	if err != nil {
		t.Fatalf("up: %v\n%s", err, errOut)
	}
	host := strings.TrimPrefix(gw.URL, "http://")
	wantContains(t, errOut, "Pushing: echo to "+host+"/echo:latest.", "Pushed: "+host+"/echo:latest sha256:")
	if strings.Contains(out, "Deployed") {
		t.Fatalf("--skip-deploy deployed:\n%s", out)
	}
	ref, err := name.ParseReference(host+"/echo:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(ref); err != nil {
		t.Fatalf("image not in the registry: %v", err)
	}
	out = mustRun(t, "", "up", "--skip-push")
	wantContains(t, out, "Deployed. 202 Accepted.", "URL: "+gw.URL+"/function/echo")
	_, d := lastDeployment(t, gw, "echo")
	if d.Image != "echo:latest" || d.EnvProcess == "" {
		t.Fatalf("deployment = %+v", d)
	}
}
