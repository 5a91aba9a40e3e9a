package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/queue"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/version"
)

// AsyncQueue is the async call queue as the gateway uses it; *queue.Queue implements it.
type AsyncQueue interface {
	// Enqueue returns once the call is stored durably.
	Enqueue(ctx context.Context, m *queue.Message) error
	// DeadLetters lists dead-lettered calls; namespace "" lists all.
	DeadLetters(ctx context.Context, namespace string) ([]api.DeadLetter, error)
	// Replay and DeleteDeadLetter wrap api.ErrNotFound for an unknown id.
	Replay(ctx context.Context, id string) error
	DeleteDeadLetter(ctx context.Context, id string) error
}

// AsyncConfig configures the async routes.
type AsyncConfig struct {
	// Queue stores the calls. Required.
	Queue AsyncQueue
	// Functions tells which functions exist. Required.
	Functions Functions
	// MaxBody caps a call's body (413 above it); 0 → 1 MiB.
	MaxBody int64
	// Logger receives enqueue failures; nil discards them.
	Logger *slog.Logger
}

// NewAsync returns the handler of POST /async-function/… (open) and the
// dead-letter API under /system/async/ (mounted behind basic auth); set it as
// Config.Async.
func NewAsync(cfg AsyncConfig) http.Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = queue.DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &async{cfg: cfg, log: cfg.Logger.With("component", "gateway")}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /async-function/{rest...}", a.enqueue)
	mux.HandleFunc("GET /system/async/dead-letters", a.listDeadLetters)
	mux.HandleFunc("POST /system/async/dead-letters/{id}/replay", a.replay)
	mux.HandleFunc("DELETE /system/async/dead-letters/{id}", a.deleteDeadLetter)
	return mux
}

type async struct {
	cfg AsyncConfig
	log *slog.Logger
}

// enqueue implements contract section 9, steps 1–3.
func (a *async) enqueue(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/async-function/")
	qualified, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		qualified, path = rest[:i], rest[i:]
	}
	name, ns := api.SplitQualified(qualified)
	if _, ok := a.cfg.Functions.Lookup(runtime.Ref{Name: name, Namespace: ns}); !ok || name == "" || ns == "" {
		http.Error(w, "error finding function "+qualified+": not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "request body is larger than the async limit of "+strconv.FormatInt(a.cfg.MaxBody, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "error reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	callback := r.Header.Get("X-Callback-Url")
	if callback != "" {
		if u, err := url.Parse(callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, "invalid X-Callback-Url: want an absolute http or https URL", http.StatusBadRequest)
			return
		}
	}
	m := a.message(r, qualified, path, body, callback)
	if err := a.cfg.Queue.Enqueue(r.Context(), m); err != nil {
		if errors.Is(err, queue.ErrTooLarge) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		a.log.Error("queue async call failed", "function", qualified, "err", err)
		http.Error(w, "Error queuing request: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("X-Call-Id", m.CallID)
	h.Set("X-Start-Time", strconv.FormatInt(m.StartTime, 10))
	h.Set("X-Served-By", version.UserAgent())
	w.WriteHeader(http.StatusAccepted)
}

// message builds the queued call: the request's headers plus X-Call-Id,
// X-Start-Time and the X-Forwarded-* the invoke path would add.
func (a *async) message(r *http.Request, qualified, path string, body []byte, callback string) *queue.Message {
	start := time.Now().UnixNano()
	hdr := r.Header.Clone()
	id := hdr.Get("X-Call-Id")
	if id == "" {
		id = uuid.NewString()
		hdr.Set("X-Call-Id", id)
	}
	hdr.Set("X-Start-Time", strconv.FormatInt(start, 10))
	if hdr.Get("X-Forwarded-For") == "" {
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			hdr.Set("X-Forwarded-For", ip)
		}
	}
	if hdr.Get("X-Forwarded-Host") == "" && r.Host != "" {
		hdr.Set("X-Forwarded-Host", r.Host)
	}
	return &queue.Message{
		CallID: id, StartTime: start, Header: hdr, Host: r.Host, Body: body,
		Method: r.Method, Path: path, QueryString: r.URL.RawQuery,
		Function: qualified, CallbackURL: callback,
	}
}

// listDeadLetters answers GET /system/async/dead-letters[?namespace=NS] (fjord ext).
func (a *async) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Queue.DeadLetters(r.Context(), r.URL.Query().Get("namespace"))
	if err != nil {
		a.failDL(w, r, err)
		return
	}
	b, err := json.Marshal(list)
	if err != nil {
		a.failDL(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// replay answers POST /system/async/dead-letters/{id}/replay: 202 once queued again.
func (a *async) replay(w http.ResponseWriter, r *http.Request) {
	if err := a.cfg.Queue.Replay(r.Context(), r.PathValue("id")); err != nil {
		a.failDL(w, r, err)
		return
	}
	accepted(w)
}

// deleteDeadLetter answers DELETE /system/async/dead-letters/{id} with 202.
func (a *async) deleteDeadLetter(w http.ResponseWriter, r *http.Request) {
	if err := a.cfg.Queue.DeleteDeadLetter(r.Context(), r.PathValue("id")); err != nil {
		a.failDL(w, r, err)
		return
	}
	accepted(w)
}

func (a *async) failDL(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, api.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	a.log.Error("dead-letter request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
