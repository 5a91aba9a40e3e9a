package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/queue"
)

// fakeQueue records queued calls and serves a fixed dead-letter list.
type fakeQueue struct {
	mu   sync.Mutex
	msgs []*queue.Message
	dead []api.DeadLetter
	err  error
}

func (f *fakeQueue) Enqueue(_ context.Context, m *queue.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.msgs = append(f.msgs, m)
	return nil
}

func (f *fakeQueue) DeadLetters(_ context.Context, ns string) ([]api.DeadLetter, error) {
	out := []api.DeadLetter{}
	for _, d := range f.dead {
		if ns == "" || d.Namespace == ns {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeQueue) find(id string) (int, error) {
	for i, d := range f.dead {
		if d.ID == id {
			return i, nil
		}
	}
	return 0, fmt.Errorf("dead letter %s: %w", id, api.ErrNotFound)
}

func (f *fakeQueue) Replay(ctx context.Context, id string) error {
	i, err := f.find(id)
	if err != nil {
		return err
	}
	var m queue.Message
	if err := json.Unmarshal(f.dead[i].Message, &m); err != nil {
		return err
	}
	f.dead = append(f.dead[:i], f.dead[i+1:]...)
	return f.Enqueue(ctx, &m)
}

func (f *fakeQueue) DeleteDeadLetter(_ context.Context, id string) error {
	i, err := f.find(id)
	if err != nil {
		return err
	}
	f.dead = append(f.dead[:i], f.dead[i+1:]...)
	return nil
}

func newAsyncGateway(t *testing.T) (*testGateway, *fakeQueue) {
	q := &fakeQueue{dead: []api.DeadLetter{
		{ID: "3", Function: "fn", Namespace: "openfaas-fn", Status: 500, Attempts: 10, Message: json.RawMessage(`{"CallId":"c3","Function":"fn"}`)},
		{ID: "7", Function: "x", Namespace: "team", Status: 400, Attempts: 1},
	}}
	g := newTestGateway(t, func(c *Config) {
		c.Async = NewAsync(AsyncConfig{Queue: q, Functions: fakeFunctions{c.Control.(*fakeControl)}, MaxBody: 16})
	})
	g.seed()
	return g, q
}

func asyncCall(t *testing.T, g *testGateway, method, path, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAsyncEnqueue(t *testing.T) {
	g, q := newAsyncGateway(t)
	resp := asyncCall(t, g, "POST", "/async-function/fn.openfaas-fn/a/b%20c?x=1&y=2", "payload",
		map[string]string{"X-Callback-Url": "http://127.0.0.1:9/cb", "X-Custom": "1", "Content-Type": "text/plain"})
	if resp.StatusCode != http.StatusAccepted || resp.ContentLength > 0 {
		t.Fatalf("enqueue: %d (length %d)", resp.StatusCode, resp.ContentLength)
	}
	id, start := resp.Header.Get("X-Call-Id"), resp.Header.Get("X-Start-Time")
	if id == "" || start == "" || !strings.HasPrefix(resp.Header.Get("X-Served-By"), "fjord/") {
		t.Fatalf("202 headers: %v", resp.Header)
	}
	if len(q.msgs) != 1 {
		t.Fatalf("queued %d messages", len(q.msgs))
	}
	m := q.msgs[0]
	if m.CallID != id || strconv.FormatInt(m.StartTime, 10) != start || string(m.Body) != "payload" ||
		m.Method != "POST" || m.Path != "/a/b%20c" || m.QueryString != "x=1&y=2" || m.Function != "fn.openfaas-fn" ||
		m.CallbackURL != "http://127.0.0.1:9/cb" || m.Host == "" {
		t.Fatalf("message: %+v", m)
	}
	if m.Header.Get("X-Custom") != "1" || m.Header.Get("X-Call-Id") != id || m.Header.Get("X-Start-Time") != start ||
		m.Header.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Fatalf("message headers: %v", m.Header)
	}

	resp = asyncCall(t, g, "POST", "/async-function/fn", "", map[string]string{"X-Call-Id": "mine"})
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Call-Id") != "mine" || q.msgs[1].Path != "" || q.msgs[1].CallID != "mine" {
		t.Fatalf("caller's call id: %d %v %+v", resp.StatusCode, resp.Header, q.msgs[1])
	}
}

func TestAsyncErrors(t *testing.T) {
	g, q := newAsyncGateway(t)
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"unknown function", "POST", "/async-function/nope", "", nil, 404},
		{"unknown namespace", "POST", "/async-function/fn.other", "", nil, 404},
		{"empty name", "POST", "/async-function/.openfaas-fn", "", nil, 404},
		{"no name", "POST", "/async-function/", "", nil, 404},
		{"body over the limit", "POST", "/async-function/fn", strings.Repeat("x", 17), nil, 413},
		{"body at the limit", "POST", "/async-function/fn", strings.Repeat("x", 16), nil, 202},
		{"relative callback", "POST", "/async-function/fn", "", map[string]string{"X-Callback-Url": "/cb"}, 400},
		{"unparseable callback", "POST", "/async-function/fn", "", map[string]string{"X-Callback-Url": "http://[::1"}, 400},
		{"GET", "GET", "/async-function/fn", "", nil, 405},
		{"PUT", "PUT", "/async-function/fn", "", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := asyncCall(t, g, tt.method, tt.path, tt.body, tt.hdr); resp.StatusCode != tt.want {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
	if len(q.msgs) != 1 {
		t.Fatalf("only the call at the limit is queued, got %d", len(q.msgs))
	}
	q.err = errors.New("stream down")
	if resp := asyncCall(t, g, "POST", "/async-function/fn", "", nil); resp.StatusCode != 500 {
		t.Fatalf("queue failure: %d", resp.StatusCode)
	}
	q.err = fmt.Errorf("%w: big", queue.ErrTooLarge)
	if resp := asyncCall(t, g, "POST", "/async-function/fn", "", nil); resp.StatusCode != 413 {
		t.Fatalf("too large for the server: %d", resp.StatusCode)
	}
}

func TestDeadLetterRoutes(t *testing.T) {
	g, q := newAsyncGateway(t)
	if resp, _ := g.call("GET", "/system/async/dead-letters", "", true); resp.StatusCode != 401 {
		t.Fatalf("dead letters without credentials: %d", resp.StatusCode)
	}
	resp, body := g.call("GET", "/system/async/dead-letters", "", false)
	var list []api.DeadLetter
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if _, body := g.call("GET", "/system/async/dead-letters?namespace=team", "", false); !strings.Contains(body, `"id":"7"`) || strings.Contains(body, `"id":"3"`) {
		t.Fatalf("namespace filter: %s", body)
	}
	if resp, _ := g.call("POST", "/system/async/dead-letters/3/replay", "", true); resp.StatusCode != 401 {
		t.Fatalf("replay without credentials: %d", resp.StatusCode)
	}
	if resp, _ := g.call("POST", "/system/async/dead-letters/3/replay", "", false); resp.StatusCode != 202 || len(q.msgs) != 1 || q.msgs[0].CallID != "c3" {
		t.Fatalf("replay: %d, queued %d", resp.StatusCode, len(q.msgs))
	}
	if resp, _ := g.call("POST", "/system/async/dead-letters/3/replay", "", false); resp.StatusCode != 404 {
		t.Fatalf("replay twice: %d", resp.StatusCode)
	}
	if resp, _ := g.call("DELETE", "/system/async/dead-letters/7", "", false); resp.StatusCode != 202 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := g.call("DELETE", "/system/async/dead-letters/7", "", false); resp.StatusCode != 404 {
		t.Fatalf("delete twice: %d", resp.StatusCode)
	}
	if _, body := g.call("GET", "/system/async/dead-letters", "", false); strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty list must be []: %s", body)
	}
}

func TestAsyncNotEnabled(t *testing.T) {
	g := newTestGateway(t, nil)
	g.seed()
	if resp := asyncCall(t, g, "POST", "/async-function/fn", "", nil); resp.StatusCode != 501 {
		t.Fatalf("async without a queue: %d", resp.StatusCode)
	}
	if resp, _ := g.call("GET", "/system/async/dead-letters", "", false); resp.StatusCode != 501 {
		t.Fatalf("dead letters without a queue: %d", resp.StatusCode)
	}
}
