package router

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fast path serves the common call — HTTP/1.x, a body of known length up
// to maxFastBody, no upgrade, no trailers — in the caller's goroutine: the
// request head and body go to the replica in one write on a pooled keep-alive
// connection, and the response is read back on the same goroutine. Everything
// else (large or chunked bodies, websockets, trailers, odd queries) takes the
// httputil.ReverseProxy path, which has the same observable behaviour.

// maxFastBody is the largest request body the fast path buffers.
const maxFastBody = 64 << 10

// FastEligible reports whether the router serves req on its fast path (the
// gateway's front serves only such calls itself).
func (r *Router) FastEligible(req *http.Request) bool {
	return r.cfg.Transport == nil && fastEligible(req)
}

// fastEligible reports whether req can take the fast path.
func fastEligible(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ContentLength < 0 || req.ContentLength > maxFastBody ||
		len(req.TransferEncoding) > 0 || req.Trailer != nil {
		return false
	}
	h := req.Header
	if _, ok := h["Upgrade"]; ok {
		return false
	}
	if _, ok := h["Te"]; ok {
		return false
	}
	return plainQuery(req.URL.RawQuery)
}

// plainQuery: no ';' and no bad escape, the query httputil would forward unchanged.
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// reqBuf holds one encoded request (head + body); pooled.
type reqBuf struct{ b []byte }

var reqBufs = sync.Pool{New: func() any { return &reqBuf{b: make([]byte, 0, 4<<10)} }}

// fastCall is the per-call state the cancel callback shares with the call.
type fastCall struct {
	conn      atomic.Pointer[upConn]
	cancelled atomic.Bool
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read or write.
var aLongTimeAgo = time.Unix(1, 0)

func (fc *fastCall) cancel() {
	fc.cancelled.Store(true)
	if c := fc.conn.Load(); c != nil {
		_ = c.nc.SetDeadline(aLongTimeAgo)
	}
}

// afterFunc is context.AfterFunc, through the context's own AfterFunc method
// when it has one (the gateway front's call context): then no cancelCtx is
// set up for the call.
func afterFunc(ctx context.Context, f func()) (stop func() bool) {
	if a, ok := ctx.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(ctx, f)
}

// errClientGone: the caller went away before the answer was complete.
var errClientGone = errors.New("caller went away")

// serveFast proxies one eligible call to c.target; limit bounds the whole call.
func (r *Router) serveFast(w http.ResponseWriter, req *http.Request, c *call, limit time.Duration) {
	rb := reqBufs.Get().(*reqBuf)
	defer func() {
		if cap(rb.b) <= 2*maxFastBody {
			reqBufs.Put(rb)
		}
	}()
	var err error
	if rb.b, err = r.appendRequest(rb.b[:0], req, c); err != nil {
		r.fail(w, c, http.StatusBadRequest, "error reading request body: "+err.Error())
		return
	}
	fc := &fastCall{}
	stop := afterFunc(req.Context(), fc.cancel)
	defer stop()
	deadline := time.Now().Add(limit)

	var (
		up   *upConn
		rh   respHead
		resp *http.Response
	)
	h := w.Header()
	for attempt := 0; ; attempt++ {
		var reused bool
		up, reused, err = c.ep.pool.get(c.target)
		if err != nil {
			r.fastError(w, req, c, fc, err)
			return
		}
		fc.conn.Store(up)
		if fc.cancelled.Load() {
			up.nc.Close()
			r.fastError(w, req, c, fc, errClientGone)
			return
		}
		_ = up.nc.SetDeadline(deadline)
		_, err = up.nc.Write(rb.b)
		wrote := err == nil
		if wrote {
			if up.raw != nil {
				r.spin.wait(up, &c.ep.spin, r.inflight.Load()+r.others.Load())
			}
			_, err = up.br.Peek(1)
		}
		if err == nil {
			var ok bool
			if rh, ok = peekRespHead(up.br, h, req.Method); ok {
				_, _ = up.br.Discard(rh.size)
				break
			}
			resp, err = readResponse(up.br, req)
			if err == nil {
				break
			}
			up.nc.Close()
			r.fastError(w, req, c, fc, err)
			return
		}
		up.nc.Close()
		// A kept-alive connection the replica closed just as it was reused:
		// nothing came back, so send once more on a new connection when the
		// request did not reach the replica or is safe to repeat.
		if reused && attempt == 0 && !isTimeout(err) && !fc.cancelled.Load() && (!wrote || idempotent(req)) {
			continue
		}
		r.fastError(w, req, c, fc, err)
		return
	}

	// The body: straight from the connection's buffer when framed by a length.
	var (
		body  io.Reader
		flush bool
	)
	if resp != nil {
		rh = respHead{status: resp.StatusCode, length: resp.ContentLength, close: resp.Close}
		copyResponseHeader(h, resp.Header)
		if resp.Body == http.NoBody {
			rh.length = 0
		} else {
			body = resp.Body
		}
		flush = resp.ContentLength < 0 || isEventStream(resp.Header)
	} else {
		body = rh.body(up.br)
		flush = rh.flush()
	}
	c.code = rh.status
	r.gatewayHeaders(h, c, rh.status)
	w.WriteHeader(rh.status)
	if err := r.copyBody(w, up.br, body, rh.length, flush); err != nil {
		up.nc.Close()
		if !errors.Is(err, errClientGone) && !fc.cancelled.Load() {
			r.log.Warn("replica answer cut short", "endpoint", c.ep.id, "addr", c.target, "err", err)
		}
		// The status line is out: abort so the caller sees a cut answer, not a complete one.
		panic(http.ErrAbortHandler)
	}
	if rh.close || up.br.Buffered() > 0 || fc.cancelled.Load() || !stop() {
		up.nc.Close()
		return
	}
	c.ep.pool.put(up, r.cfg.MaxIdleConnsPerHost)
}

// readResponse reads the final response head, skipping 1xx interim answers
// (the router strips Expect, so 100 Continue is not expected, but 103 may come).
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("unexpected 101 Switching Protocols from the replica")
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue
		}
		return resp, nil
	}
}

// copyBody streams the replica's body to the caller: length bytes from br
// when body is nil, else body to its end. Bodies of unknown length and event
// streams are flushed after every read; others go out when the handler
// returns (one write for a small answer).
func (r *Router) copyBody(w http.ResponseWriter, br *bufio.Reader, body io.Reader, length int64, flush bool) error {
	if length == 0 {
		return nil
	}
	var rc *http.ResponseController
	if flush {
		rc = http.NewResponseController(w)
	}
	write := func(p []byte) error {
		if _, err := w.Write(p); err != nil {
			return errClientGone
		}
		if flush {
			if err := rc.Flush(); err != nil {
				return errClientGone
			}
		}
		return nil
	}
	if body == nil {
		// What is buffered goes out from the reader's buffer; a large rest is
		// read in big reads below.
		for length > 0 && (br.Buffered() > 0 || length <= int64(br.Size())) {
			if br.Buffered() == 0 {
				if _, err := br.Peek(1); err != nil {
					return unexpectedEOF(err)
				}
			}
			p, _ := br.Peek(int(min(int64(br.Buffered()), length)))
			if err := write(p); err != nil {
				return err
			}
			_, _ = br.Discard(len(p))
			length -= int64(len(p))
		}
		if length == 0 {
			return nil
		}
		body = io.LimitReader(br, length)
	}
	buf := r.bufs.Get()
	defer r.bufs.Put(buf)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if err := write(buf[:n]); err != nil {
				return err
			}
			length -= int64(n)
		}
		if rerr == io.EOF {
			if length > 0 {
				return io.ErrUnexpectedEOF // a length-framed body cut short
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	return len(v) > 0 && strings.HasPrefix(v[0], "text/event-stream")
}

// fastError answers a call whose replica gave no usable response (see
// replicaFailed); nothing is logged when the caller went away.
func (r *Router) fastError(w http.ResponseWriter, req *http.Request, c *call, fc *fastCall, err error) {
	gone := fc.cancelled.Load()
	r.replicaFailed(w, c, isTimeout(err) && !gone, gone || errors.Is(err, errClientGone), err)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// idempotent: methods a client may repeat (RFC 9110 9.2.2), or a request that
// carries an idempotency key.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	return ok
}

// appendRequest encodes the upstream request: the call's path, the caller's
// headers minus hop-by-hop and forwarding ones, the gateway's headers, and the
// body read in full.
func (r *Router) appendRequest(b []byte, req *http.Request, c *call) ([]byte, error) {
	b = append(b, req.Method...)
	b = append(b, ' ')
	if c.rawPath != "" {
		b = append(b, c.rawPath...)
	} else {
		b = appendPath(b, c.path)
	}
	if q := req.URL.RawQuery; q != "" {
		b = append(b, '?')
		b = append(b, q...)
	} else if req.URL.ForceQuery {
		b = append(b, '?')
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\n"...)
	in := req.Header
	conn := in["Connection"]
	for k, vs := range in {
		if skipRequestHeader(k) || listedIn(conn, k) || k == "User-Agent" && (len(vs) == 0 || vs[0] == "") {
			continue
		}
		for _, v := range vs {
			b = appendHeader(b, k, v)
		}
	}
	b = appendHeader(b, HeaderCallID, c.callID)
	b = appendHeader(b, HeaderStartTime, c.start)
	if v := in["X-Forwarded-For"]; len(v) > 0 {
		for _, x := range v {
			b = appendHeader(b, "X-Forwarded-For", x)
		}
	} else if ip, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		b = appendHeader(b, "X-Forwarded-For", ip)
	}
	if v := in["X-Forwarded-Host"]; len(v) > 0 {
		for _, x := range v {
			b = appendHeader(b, "X-Forwarded-Host", x)
		}
	} else {
		b = appendHeader(b, "X-Forwarded-Host", req.Host)
	}
	if v := in["User-Agent"]; len(v) == 0 || v[0] == "" {
		b = appendHeader(b, "User-Agent", r.userAgent)
	}
	n := req.ContentLength
	if n > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if n > 0 {
		head := len(b)
		b = grow(b, int(n))
		if _, err := io.ReadFull(req.Body, b[head:head+int(n)]); err != nil {
			return b[:head], err
		}
	}
	return b, nil
}

// appendPath escapes path the way url.URL.EscapedPath would for a path
// without a RawPath: only bytes that must be escaped are.
func appendPath(b []byte, path string) []byte {
	for i := 0; i < len(path); i++ {
		ch := path[i]
		if shouldEscapePath(ch) {
			b = append(b, '%', upperHex[ch>>4], upperHex[ch&15])
			continue
		}
		b = append(b, ch)
	}
	return b
}

const upperHex = "0123456789ABCDEF"

// shouldEscapePath mirrors net/url's rules for the path segment.
func shouldEscapePath(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return false
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@', '!', '\'', '(', ')', '*':
		return false
	}
	return true
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n+512)
	copy(nb, b)
	return nb
}

func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// skipRequestHeader: hop-by-hop headers, the ones the router writes itself,
// and the caller's forwarding headers (replaced by the router's).
func skipRequestHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Host",
		HeaderCallID, HeaderStartTime, "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// copyResponseHeader copies the replica's header without hop-by-hop fields.
func copyResponseHeader(dst, src http.Header) {
	conn := src["Connection"]
	for k, vs := range src {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer", "Transfer-Encoding", "Upgrade":
			continue
		}
		if listedIn(conn, k) {
			continue
		}
		dst[k] = vs
	}
}

// listedIn reports whether a Connection header names k (case-insensitive).
func listedIn(conn []string, k string) bool {
	for _, v := range conn {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), k) {
				return true
			}
		}
	}
	return false
}
