package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/client/clienttest"
)

// cliEnv isolates a test: a temp working dir, a temp credential store, no
// gateway from the environment, and a fake gateway.
func cliEnv(t *testing.T) *clienttest.Gateway {
	t.Helper()
	t.Chdir(t.TempDir())
	t.Setenv("OPENFAAS_CONFIG", t.TempDir())
	t.Setenv("OPENFAAS_URL", "")
	t.Setenv("CI", "")
	return clienttest.New(t)
}

// runCLI executes the command line in-process with stdin and returns stdout, stderr.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(io.Reader(strings.NewReader(stdin)))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// mustRun is runCLI that fails the test on error.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("fjord %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func wantContains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output does not contain %q:\n%s", w, got)
		}
	}
}
