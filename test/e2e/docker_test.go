package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// TestDockerPullsFromEmbeddedRegistry: a Docker Engine pulls a function image
// that fjord built and pushed, straight from fjord's /v2/ API.
func TestDockerPullsFromEmbeddedRegistry(t *testing.T) {
	testenv.NeedCommand(t, "docker")
	testenv.Need(t, exec.Command("docker", "info").Run() == nil, "the Docker daemon is not running")
	d := startDaemon(t, "--example")
	waitFor(t, "example function", 60*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/hello"), "x")
		return code == 200
	})
	ref := d.addr + "/hello:latest"
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	out, err := exec.Command("docker", "pull", ref).CombinedOutput()
	if err != nil {
		t.Fatalf("docker pull %s: %v\n%s", ref, err, out)
	}
	insp, err := exec.Command("docker", "image", "inspect", "--format", "{{json .Config.Env}} {{.Config.WorkingDir}}", ref).CombinedOutput()
	if err != nil || !strings.Contains(string(insp), "fprocess=") || !strings.Contains(string(insp), "/home/app") {
		t.Fatalf("docker image inspect: %v %s", err, insp)
	}
}
