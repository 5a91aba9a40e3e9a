package clienttest

import (
	"net/http"
	"strings"

	"github.com/fjord-faas/fjord/internal/api"
)

// DeadLetter is a dead-lettered async call the fake serves.
type DeadLetter = api.DeadLetter

// AddDeadLetter stores a dead letter; Namespace defaults to openfaas-fn.
func (g *Gateway) AddDeadLetter(d DeadLetter) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d.Namespace == "" {
		d.Namespace = "openfaas-fn"
	}
	g.deadLetters = append(g.deadLetters, d)
}

// Replayed returns the ids replayed so far, in order.
func (g *Gateway) Replayed() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.replayed...)
}

// deadLettersRoute serves /system/async/dead-letters[/{id}[/replay]]; g.mu is held.
func (g *Gateway) deadLettersRoute(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/system/async/dead-letters"), "/")
	if rest == "" {
		if r.Method != http.MethodGet {
			http.Error(w, "", http.StatusMethodNotAllowed)
			return
		}
		out := []DeadLetter{}
		for _, d := range g.deadLetters {
			if ns := r.URL.Query().Get("namespace"); ns == "" || ns == d.Namespace {
				out = append(out, d)
			}
		}
		writeJSON(w, out)
		return
	}
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case r.Method == http.MethodPost && action == "replay", r.Method == http.MethodDelete && action == "":
	default:
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	for i, d := range g.deadLetters {
		if d.ID == id {
			g.deadLetters = append(g.deadLetters[:i], g.deadLetters[i+1:]...)
			if action == "replay" {
				g.replayed = append(g.replayed, id)
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
	}
	http.Error(w, "dead letter "+id+" not found", http.StatusNotFound)
}
