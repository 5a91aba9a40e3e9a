// Package clienttest provides an in-memory fake of the gateway's /system API and
// invoke routes for tests of the client and the CLI.
package clienttest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/fjord-faas/fjord/internal/api"
)

// Call records one request the fake received.
type Call struct {
	Method, Path, Query string
	Body                []byte
	Header              http.Header
}

// Gateway is a fake gateway. Mutations answer 202 as the contract says.
type Gateway struct {
	*httptest.Server
	// User and Password, when User is non-empty, are required on /system/*.
	User, Password string

	mu         sync.Mutex
	calls      []Call
	functions  map[string]api.FunctionStatus // key name.ns
	secrets    map[string][]byte             // key name.ns
	namespaces map[string]api.FunctionNamespace
	// Logs are served by /system/logs for any known function.
	Logs []api.LogMessage

	deadLetters []DeadLetter
	replayed    []string

	registry http.Handler
}

// New starts a fake gateway closed at the end of the test.
func New(t testing.TB) *Gateway {
	g := &Gateway{
		functions:  map[string]api.FunctionStatus{},
		secrets:    map[string][]byte{},
		namespaces: map[string]api.FunctionNamespace{api.DefaultNamespace: {Name: api.DefaultNamespace}},
		registry:   registry.New(registry.Logger(log.New(io.Discard, "", 0))),
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

// Calls returns the requests received so far.
func (g *Gateway) Calls() []Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Call(nil), g.calls...)
}

// AddFunction stores a function status as if it had been deployed.
func (g *Gateway) AddFunction(st api.FunctionStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st.Namespace == "" {
		st.Namespace = api.DefaultNamespace
	}
	g.functions[st.Name+"."+st.Namespace] = st
}

// Function returns a stored function.
func (g *Gateway) Function(name, ns string) (api.FunctionStatus, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.functions[name+"."+ns]
	return f, ok
}

// Secret returns a stored secret's bytes.
func (g *Gateway) Secret(name, ns string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.secrets[name+"."+ns]
	return s, ok
}

// serve answers /v2/ from an in-memory OCI registry (as fjord's embedded one)
// and everything else from the fake API.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") || r.URL.Path == "/v2" {
		g.registry.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.calls = append(g.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Header: r.Header.Clone()})
	g.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/function/"):
		g.invoke(w, r, body)
		return
	case strings.HasPrefix(r.URL.Path, "/async-function/"):
		w.Header().Set("X-Call-Id", "call-1")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if g.User != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != g.User || p != g.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.system(w, r, body)
}

func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, body []byte) {
	name := strings.TrimPrefix(r.URL.Path, "/function/")
	name, _, _ = strings.Cut(name, "/")
	if strings.HasPrefix(name, "missing") {
		http.Error(w, "error finding function "+name, http.StatusNotFound)
		return
	}
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	fmt.Fprintf(w, "%s %s q=%s h=%s body=%s", r.Method, name, r.URL.RawQuery, r.Header.Get("X-Test"), body)
}

func ns(r *http.Request, bodyNS string) string {
	if bodyNS != "" {
		return bodyNS
	}
	if q := r.URL.Query().Get("namespace"); q != "" {
		return q
	}
	return api.DefaultNamespace
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
