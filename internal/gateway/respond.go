package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// op tells statusOf which call failed where the same error maps differently.
type op int

const (
	opOther op = iota
	opCreateFunction
	opUpdateFunction
	opLogs
)

// statusOf is the one place where errors become HTTP status codes.
func statusOf(err error, o op) int {
	var tooBig *http.MaxBytesError
	deploy := o == opCreateFunction || o == opUpdateFunction
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, api.ErrExists):
		if o == opCreateFunction {
			return http.StatusBadRequest
		}
		return http.StatusConflict
	case errors.Is(err, api.ErrInvalid): // includes api.ErrUnknownNamespace
		return http.StatusBadRequest
	case errors.Is(err, api.ErrNotFound), errors.Is(err, runtime.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, runtime.ErrUnsupported) && o == opLogs:
		return http.StatusNotImplemented
	case errors.Is(err, runtime.ErrUnsupported) && deploy, errors.Is(err, runtime.ErrImage) && deploy:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// fail answers err as short plain text; server errors are logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, o op) {
	code := statusOf(err, o)
	if code >= 500 && code != http.StatusNotImplemented {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	http.Error(w, err.Error(), code)
}

// errEmptyBody is answered with 400 when a required JSON body is missing.
var errEmptyBody = fmt.Errorf("%w: request body is empty", api.ErrInvalid)

// decode reads a JSON body of at most MaxBodyBytes into v. Unknown fields are
// ignored; errors wrap api.ErrInvalid or are *http.MaxBytesError.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	err := json.NewDecoder(body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return errEmptyBody
	}
	return fmt.Errorf("%w: bad JSON body: %v", api.ErrInvalid, err)
}

// writeJSON answers 200 with v as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// accepted answers a successful mutation: 202 with an empty body.
func accepted(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }

// namespaceOf resolves a /system/* namespace: body, else ?namespace=, else the default.
func namespaceOf(body string, r *http.Request) string {
	if body != "" {
		return body
	}
	if q := r.URL.Query().Get("namespace"); q != "" {
		return q
	}
	return api.DefaultNamespace
}
