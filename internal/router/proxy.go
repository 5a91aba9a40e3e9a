package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// Header names the invoke path reads or writes.
const (
	HeaderCallID    = "X-Call-Id"
	HeaderStartTime = "X-Start-Time"
	HeaderServedBy  = "X-Served-By"
	// HeaderDuration is the time the function took to answer, in seconds ("%f");
	// the watchdog sets it, or the router on the direct path.
	HeaderDuration = "X-Duration-Seconds"
	// HeaderTimeout marks the router's own 504 when a function called on the
	// direct path exceeds its timeout (the watchdog's carries X-OpenFaaS-Internal).
	HeaderTimeout = "X-Fjord-Timeout"
	// HeaderCallTimeout, sent by a caller, shortens the function's timeout.
	HeaderCallTimeout = "X-Timeout"
)

type callKey struct{}

// call is the per-request state the proxy callbacks share; pooled.
type call struct {
	ep            *endpoint
	target        string    // address the call goes to: ep.direct or ep.addr (see internal/sockaddr)
	sent          time.Time // when the call was handed to the proxy (direct path)
	path, rawPath string
	callID, start string
	reqType       string
	code          int
}

// ServeFunction proxies one call to a replica of ref. path is the escaped
// remainder after /function/NAME ("" means "/"); the raw query of r is kept.
func (r *Router) ServeFunction(w http.ResponseWriter, req *http.Request, ref runtime.Ref, path string) {
	began := time.Now()
	if r.spin.budget > 0 {
		r.spin.started(r.inflight.Add(1) + r.others.Load())
		defer r.inflight.Add(-1)
	}
	c := r.calls.Get().(*call)
	defer r.calls.Put(c)
	*c = call{
		callID:  req.Header.Get(HeaderCallID),
		start:   strconv.FormatInt(began.UnixNano(), 10),
		reqType: req.Header.Get("Content-Type"),
	}
	if c.callID == "" {
		c.callID = uuid.NewString()
	}
	info, ok := r.cfg.Functions.Lookup(ref)
	if !ok {
		r.fail(w, c, http.StatusNotFound, "error finding function "+ref.String()+": not found")
		return
	}
	f := r.function(ref)
	if m := r.cfg.Metrics; m != nil {
		m.Started(f.label)
		defer func() { m.Observe(f.label, c.code, time.Since(began)) }()
	}
	if !c.setPath(path) {
		r.fail(w, c, http.StatusBadRequest, "invalid path escape")
		return
	}
	timeout := info.Timeout
	if timeout <= 0 {
		timeout = r.cfg.DefaultTimeout
	}
	set, err := r.await(req.Context(), f, timeout)
	if err != nil {
		r.unavailable(w, c, ref, err)
		return
	}
	c.ep = f.pick(set)
	c.ep.inflight.Add(1)
	defer c.ep.inflight.Add(-1)

	// Through the watchdog, its own 504 should reach the caller first; on the
	// direct path the router enforces the function's timeout itself.
	limit := timeout + r.cfg.TimeoutMargin
	c.target = c.ep.addr
	if c.ep.direct != "" {
		c.target, limit = c.ep.direct, callTimeout(req, timeout)
	}
	c.code = http.StatusBadGateway // until a response arrives
	c.sent = time.Now()
	if r.cfg.Transport == nil && fastEligible(req) {
		r.serveFast(w, req, c, limit)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), limit)
	defer cancel()
	r.proxy.ServeHTTP(w, req.WithContext(context.WithValue(ctx, callKey{}, c)))
}

// callTimeout is the function's timeout, shortened by a valid X-Timeout the
// way the watchdog does it.
func callTimeout(req *http.Request, timeout time.Duration) time.Duration {
	v := req.Header[HeaderCallTimeout]
	if len(v) == 0 {
		return timeout
	}
	if d, err := time.ParseDuration(v[0]); err == nil && d > 0 && d < timeout {
		return d
	}
	return timeout
}

// setPath fills the upstream path; false when path has a bad escape.
func (c *call) setPath(path string) bool {
	switch {
	case path == "":
		c.path = "/"
		return true
	case path[0] != '/':
		path = "/" + path
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '%' {
			p, err := url.PathUnescape(path)
			if err != nil {
				return false
			}
			c.path, c.rawPath = p, path
			return true
		}
	}
	c.path = path
	return true
}

func (r *Router) unavailable(w http.ResponseWriter, c *call, ref runtime.Ref, err error) {
	switch {
	case errors.Is(err, api.ErrNotFound), errors.Is(err, runtime.ErrNotFound):
		r.fail(w, c, http.StatusNotFound, "error finding function "+ref.String()+": not found")
	case errors.Is(err, errNoEndpoints):
		r.fail(w, c, http.StatusServiceUnavailable, "No endpoints available for: "+ref.Name+".")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		r.fail(w, c, http.StatusServiceUnavailable, "No endpoints available for: "+ref.Name+".")
	default:
		r.log.Warn("wake up failed", "function", ref.String(), "err", err)
		r.fail(w, c, http.StatusServiceUnavailable, "No endpoints available for: "+ref.Name+".")
	}
}

// fail answers a call the router could not forward, with the gateway headers.
func (r *Router) fail(w http.ResponseWriter, c *call, code int, msg string) {
	c.code = code
	h := w.Header()
	h.Set(HeaderCallID, c.callID)
	h.Set(HeaderStartTime, c.start)
	h[HeaderServedBy] = r.servedBy
	http.Error(w, msg, code)
}

// rewrite builds the upstream request (hop-by-hop and X-Forwarded-* headers
// have already been removed from Out by httputil).
func (r *Router) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = sockaddr.URLHost(c.target)
	out.URL.Path = c.path
	out.URL.RawPath = c.rawPath
	h := out.Header
	h.Set(HeaderCallID, c.callID)
	h.Set(HeaderStartTime, c.start)
	in := pr.In.Header
	if v := in["X-Forwarded-For"]; len(v) > 0 {
		h["X-Forwarded-For"] = v
	} else if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		h.Set("X-Forwarded-For", ip)
	}
	if v := in["X-Forwarded-Host"]; len(v) > 0 {
		h["X-Forwarded-Host"] = v
	} else {
		h.Set("X-Forwarded-Host", pr.In.Host)
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", r.userAgent)
	}
}

// modifyResponse adds the gateway headers to a replica's answer.
func (r *Router) modifyResponse(resp *http.Response) error {
	c := resp.Request.Context().Value(callKey{}).(*call)
	c.code = resp.StatusCode
	r.gatewayHeaders(resp.Header, c, resp.StatusCode)
	return nil
}

// gatewayHeaders adds the call's headers to a replica's answer: call id, start
// time, X-Served-By, X-Duration-Seconds on the direct path, and a Content-Type
// (the caller's, else text/plain) when the replica sent none.
func (r *Router) gatewayHeaders(h http.Header, c *call, code int) {
	h.Set(HeaderCallID, c.callID)
	h.Set(HeaderStartTime, c.start)
	h[HeaderServedBy] = r.servedBy
	if c.ep.direct != "" {
		if _, ok := h[HeaderDuration]; !ok {
			h[HeaderDuration] = []string{strconv.FormatFloat(time.Since(c.sent).Seconds(), 'f', 6, 64)}
		}
	}
	switch code {
	case http.StatusSwitchingProtocols, http.StatusNoContent, http.StatusNotModified:
		return
	}
	if v := h["Content-Type"]; len(v) == 0 || v[0] == "" {
		if c.reqType != "" {
			h["Content-Type"] = []string{c.reqType}
		} else {
			h["Content-Type"] = textPlain
		}
	}
}

var textPlain = []string{"text/plain"}

// proxyError answers the ReverseProxy path's failures (see replicaFailed).
func (r *Router) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	c := req.Context().Value(callKey{}).(*call)
	r.replicaFailed(w, c, errors.Is(req.Context().Err(), context.DeadlineExceeded), errors.Is(err, context.Canceled), err)
}

// replicaFailed answers a call the replica gave no usable response to: 504
// with X-Fjord-Timeout when a direct call ran out of its time (the router
// enforces the function's timeout there), else 502 with an empty body (the
// watchdog answers its own 504 on the other path). quiet skips the log line
// (the caller went away).
func (r *Router) replicaFailed(w http.ResponseWriter, c *call, timedOut, quiet bool, err error) {
	h := w.Header()
	h.Set(HeaderCallID, c.callID)
	h.Set(HeaderStartTime, c.start)
	h[HeaderServedBy] = r.servedBy
	if timedOut && c.ep.direct != "" {
		c.code = http.StatusGatewayTimeout
		h.Set(HeaderTimeout, "1")
		h.Set(HeaderDuration, strconv.FormatFloat(time.Since(c.sent).Seconds(), 'f', 6, 64))
		http.Error(w, "Function exceeded its timeout.", http.StatusGatewayTimeout)
		return
	}
	c.code = http.StatusBadGateway
	if !quiet {
		r.log.Warn("replica call failed", "endpoint", c.ep.id, "addr", c.target, "err", err)
	}
	w.WriteHeader(http.StatusBadGateway)
}
