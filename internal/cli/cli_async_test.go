package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/client/clienttest"
)

func TestAsyncCmds(t *testing.T) {
	gw := cliEnv(t)
	if _, errOut, err := runCLI(t, "", "async", "list", "-g", gw.URL); err != nil || !strings.Contains(errOut, "No dead letters.") {
		t.Fatalf("empty list: %v %q", err, errOut)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gw.AddDeadLetter(clienttest.DeadLetter{ID: "7", Function: "resize", Status: 500, Attempts: 10,
		Error: "function answered\n500", Time: when})
	gw.AddDeadLetter(clienttest.DeadLetter{ID: "9", Function: "mail", Namespace: "team", Status: 503, Attempts: 3,
		Error: strings.Repeat("x", 100), Time: when})

	out := mustRun(t, "", "async", "list", "-g", gw.URL)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID FUNCTION STATUS ATTEMPTS ERROR TIME" {
		t.Fatalf("table:\n%s", out)
	}
	wantContains(t, lines[1], "7", "resize.openfaas-fn", "500", "10", "function answered 500", when.Local().Format(time.DateTime))
	wantContains(t, lines[2], "mail.team", "503", strings.Repeat("x", 59)+"…")

	out = mustRun(t, "", "async", "list", "-n", "team", "--json", "-g", gw.URL)
	wantContains(t, out, `"id": "9"`, `"namespace": "team"`)
	if strings.Contains(out, `"id": "7"`) {
		t.Fatalf("-n team listed another namespace:\n%s", out)
	}

	wantContains(t, mustRun(t, "", "async", "replay", "7", "-g", gw.URL), "Dead letter 7 queued again.")
	if got := gw.Replayed(); len(got) != 1 || got[0] != "7" {
		t.Fatalf("replayed: %v", got)
	}
	_, _, err := runCLI(t, "", "async", "replay", "7", "-g", gw.URL)
	if err == nil || !strings.Contains(err.Error(), "dead letter 7 not found") {
		t.Fatalf("replay of a replayed id: %v", err)
	}
	if _, _, err := runCLI(t, "", "async", "remove", "abc", "-g", gw.URL); err == nil || !strings.Contains(err.Error(), "not a dead-letter ID") {
		t.Fatalf("a non-numeric id: %v", err)
	}
	wantContains(t, mustRun(t, "", "async", "rm", "9", "-g", gw.URL), "Dead letter 9 removed.")
	if _, errOut, _ := runCLI(t, "", "async", "list", "-g", gw.URL); !strings.Contains(errOut, "No dead letters.") {
		t.Fatalf("after replay and remove: %q", errOut)
	}
}

func TestAsyncHelpTeaches(t *testing.T) {
	out := mustRun(t, "", "async", "--help")
	wantContains(t, out, "com.openfaas.retry", "same X-Call-Id", "fjord async replay 42", "list", "replay", "remove")
	wantContains(t, mustRun(t, "", "async", "list", "--help"), "--json", "list only this namespace")
}
