package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/client"
	"github.com/fjord-faas/fjord/internal/client/clienttest"
)

func TestDeadLetters(t *testing.T) {
	gw := clienttest.New(t)
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	gw.AddDeadLetter(clienttest.DeadLetter{ID: "7", Function: "resize", Status: 500, Attempts: 10, Error: "function answered 500", Time: when,
		Message: json.RawMessage(`{"CallId":"c-7"}`)})
	gw.AddDeadLetter(clienttest.DeadLetter{ID: "9", Function: "mail", Namespace: "team", Status: 503, Attempts: 3})
	c := client.New(gw.URL, client.Options{})
	ctx := context.Background()

	all, err := c.ListDeadLetters(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %v %+v", err, all)
	}
	d := all[0]
	if d.ID != "7" || d.Function != "resize" || d.Namespace != "openfaas-fn" || d.Status != 500 || d.Attempts != 10 ||
		d.Error != "function answered 500" || !d.Time.Equal(when) || string(d.Message) != `{"CallId":"c-7"}` {
		t.Fatalf("first dead letter: %+v", d)
	}
	team, err := c.ListDeadLetters(ctx, "team")
	if err != nil || len(team) != 1 || team[0].ID != "9" {
		t.Fatalf("list -n team: %v %+v", err, team)
	}
	if calls := gw.Calls(); calls[len(calls)-1].Query != "namespace=team" {
		t.Fatalf("namespace query: %+v", calls[len(calls)-1])
	}

	if err := c.ReplayDeadLetter(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if got := gw.Replayed(); len(got) != 1 || got[0] != "7" {
		t.Fatalf("replayed: %v", got)
	}
	if err := c.ReplayDeadLetter(ctx, "7"); client.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("replay of a replayed id: %v", err)
	}
	if err := c.RemoveDeadLetter(ctx, "9"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDeadLetter(ctx, "9"); client.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("remove of a removed id: %v", err)
	}
	if left, err := c.ListDeadLetters(ctx, ""); err != nil || len(left) != 0 {
		t.Fatalf("after replay and remove: %v %+v", err, left)
	}
	calls := gw.Calls()
	if last := calls[len(calls)-2]; last.Method != http.MethodDelete || last.Path != "/system/async/dead-letters/9" {
		t.Fatalf("remove request: %s %s", last.Method, last.Path)
	}
}
