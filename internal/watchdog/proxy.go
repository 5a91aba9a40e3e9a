package watchdog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// proxy is http mode: one long-running function process behind a reverse proxy.
type proxy struct {
	w         *Watchdog
	target    *url.URL // set by start, before serving
	addr      string   // the server's address (host:port or unix:@name), set by start
	transport *http.Transport
	rp        *httputil.ReverseProxy
	child     *child
}

func newProxy(w *Watchdog) *proxy {
	p := &proxy{w: w}
	p.transport = &http.Transport{
		Proxy:                 nil, // the function is local; never go through HTTP_PROXY
		DialContext:           (&sockaddr.Dialer{Dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: p.transport,
		// Streams (SSE, or no Content-Length: NDJSON, chunked) are flushed on
		// every write by ReverseProxy itself. A known-length body is written
		// with its headers in one go; -1 here would flush the headers alone
		// from a timer goroutine first, one extra write and wake-up per call.
		FlushInterval: 10 * time.Millisecond,
		BufferPool:    &bufferPool{},
		ErrorHandler:  p.fail,
		ErrorLog:      log.New(w.cfg.Stderr, "", log.LstdFlags),
	}
	return p
}

// rewrite points the request at the upstream, keeping the path, query and Host.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	out, in, t := pr.Out, pr.In, p.target
	out.URL.Scheme = t.Scheme
	out.URL.Host = t.Host
	if base := strings.TrimSuffix(t.Path, "/"); base != "" {
		out.URL.Path = base + in.URL.Path
		out.URL.RawPath = ""
	}
	out.Host = in.Host
	// Rewrite mode drops X-Forwarded-*; the gateway's values must reach the function.
	for _, h := range [...]string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := in.Header[h]; ok {
			out.Header[h] = v
		}
	}
}

// serve forwards one request within exec_timeout, shortened by X-Timeout.
func (p *proxy) serve(rw http.ResponseWriter, r *http.Request) {
	timeout := p.w.cfg.ExecTimeout
	if v := r.Header.Get("X-Timeout"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 && (timeout <= 0 || d < timeout) {
			timeout = d
		}
	}
	if timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	if p.w.cfg.BufferBody && r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "Failed to read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	} else if r.ContentLength > 0 {
		r.Body = &exactBody{ReadCloser: r.Body, left: r.ContentLength}
	}
	p.rp.ServeHTTP(rw, r)
}

// fail answers a failed upstream call: 504 on timeout, else 500.
func (p *proxy) fail(rw http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		p.w.out.Printf("Upstream HTTP request timed out: %s %s", r.Method, r.URL.Path)
		rw.Header().Set("X-OpenFaaS-Internal", "of-watchdog")
		http.Error(rw, "Function exceeded its timeout.", http.StatusGatewayTimeout)
		return
	}
	p.w.out.Printf("Upstream HTTP request error: %s", err)
	http.Error(rw, "Upstream HTTP request error: "+err.Error(), http.StatusInternalServerError)
}

// probe asks the function's ready path and returns its status, 503 on error.
func (p *proxy) probe(ctx context.Context, path string) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := *p.target
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return http.StatusServiceUnavailable
	}
	res, err := p.transport.RoundTrip(req)
	if err != nil {
		return http.StatusServiceUnavailable
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	return res.StatusCode
}

// exactBody ends a body of known length without another read of the
// server's body. The transport probes for bytes beyond Content-Length; that
// read races with the server closing the body when the handler returns, and
// when it loses, the transport drops a good upstream connection (measured:
// about one new upstream connection per eight small POSTs without this).
type exactBody struct {
	io.ReadCloser
	left int64
}

func (b *exactBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && (err == nil || err == io.EOF) {
		err = io.EOF
	}
	return n, err
}

// bufferPool reuses the proxy's copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
