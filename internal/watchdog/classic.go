package watchdog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveClassic forks fprocess for one request: body on stdin, stdout back.
func (w *Watchdog) serveClassic(rw http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.out.Print("Forking fprocess.")
	if w.cfg.DebugHeaders {
		w.out.Printf("Header: %v", r.Header)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.out.Printf("Failed to read request body: %s", err)
		http.Error(rw, "Failed to read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if w.cfg.MarshalRequest {
		if body, err = marshalRequest(r.Header, body); err != nil {
			http.Error(rw, "Failed to marshal request: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	ctx := r.Context()
	if w.cfg.ExecTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.ExecTimeout)
		defer cancel()
	}
	cmd := w.command(ctx, w.cgiEnv(r, true))
	cmd.Stdin = bytes.NewReader(body)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	if w.cfg.CombineOutput {
		cmd.Stderr = &out
	} else {
		cmd.Stderr = &stderr
	}
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if stderr.Len() > 0 {
		w.out.Printf("stderr: %s", stderr.Bytes())
	}
	if w.cfg.ExecTimeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.out.Printf("Killed process: exec_timeout %s exceeded", w.cfg.ExecTimeout)
		http.Error(rw, "Killed process.", http.StatusRequestTimeout)
		return
	}
	if err != nil {
		w.out.Printf("Success=false, Error=%s", err)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(rw, err.Error()+"\n")
		_, _ = rw.Write(out.Bytes())
		return
	}
	w.writeClassic(rw, r, out.Bytes(), took)
}

// writeClassic sends a successful classic response and logs it.
func (w *Watchdog) writeClassic(rw http.ResponseWriter, r *http.Request, out []byte, took time.Duration) {
	h := rw.Header()
	if w.cfg.ContentType != "" {
		h.Set("Content-Type", w.cfg.ContentType)
	} else if ct := r.Header.Get("Content-Type"); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("X-Duration-Seconds", formatSeconds(took))
	if w.cfg.DebugHeaders {
		w.out.Printf("Response header: %v", h)
	}
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(out)
	if w.cfg.WriteDebug {
		w.out.Printf("Success=true, Error=")
		w.out.Printf("Out=%s", out)
		return
	}
	w.out.Printf("Wrote %d Bytes - Duration: %fs", len(out), took.Seconds())
}

// cgiEnv is the process environment plus the request as Http_* variables.
// Classic mode adds Host and Content-Length and honours cgi_headers.
func (w *Watchdog) cgiEnv(r *http.Request, classic bool) []string {
	env := make([]string, 0, len(w.cfg.Env)+len(r.Header)+8)
	env = append(env, w.cfg.Env...)
	if classic && !w.cfg.CGIHeaders {
		return env
	}
	for k, v := range r.Header {
		if len(v) == 0 {
			continue
		}
		env = append(env, "Http_"+strings.ReplaceAll(k, "-", "_")+"="+v[0])
	}
	env = append(env, "Http_Method="+r.Method)
	if classic {
		cl := strconv.FormatInt(r.ContentLength, 10)
		env = append(env, "Http_ContentLength="+cl, "Http_Content_Length="+cl, "Http_Host="+r.Host)
	}
	if len(r.TransferEncoding) > 0 {
		env = append(env, "Http_Transfer_Encoding="+r.TransferEncoding[0])
	}
	if r.URL.RawQuery != "" {
		env = append(env, "Http_Query="+r.URL.RawQuery)
	}
	if r.URL.Path != "" {
		env = append(env, "Http_Path="+r.URL.Path)
	}
	return env
}

// marshalledRequest is the stdin document of marshal_request=true.
type marshalledRequest struct {
	Header http.Header `json:"header"`
	Body   struct {
		Raw []byte `json:"raw"`
	} `json:"body"`
}

func marshalRequest(h http.Header, body []byte) ([]byte, error) {
	var m marshalledRequest
	m.Header = h
	m.Body.Raw = body
	return json.Marshal(&m)
}
