package router

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// respCases are replica answers of many shapes, well-formed or not; each is
// read both by the fast path's own parser and by http.ReadResponse.
var respCases = []struct{ name, method, raw string }{
	{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"},
	{"length-extra", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"},
	{"length-zeros", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 00005\r\n\r\nhello"},
	{"length-zero", "POST", "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"},
	{"length-cut", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"},
	{"no-reason", "GET", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx"},
	{"empty-reason", "GET", "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx"},
	{"odd-status", "GET", "HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n"},
	{"status-500", "GET", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"},
	{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
	{"chunked-ext", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\nNEXT"},
	{"chunked-trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n"},
	{"chunked-bad", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
	{"chunked-cut", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
	{"chunked-no-end", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"},
	{"chunked-declared-trailer", "GET", "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n"},
	{"chunked-upper", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"chunked-gzip", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"chunked-twice", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"chunked-and-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"http10-close", "GET", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"},
	{"http10-keepalive", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"},
	{"http10-length", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"http10-chunked", "GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	{"http10-close-listed", "GET", "HTTP/1.0 200 OK\r\nConnection: close, X-Private\r\nX-Private: s\r\nContent-Length: 2\r\n\r\nok"},
	{"http11-until-close", "GET", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nuntil close"},
	{"http11-close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
	{"http11-close-listed", "GET", "HTTP/1.1 200 OK\r\nConnection: X-Private, Close\r\nX-Private: s\r\nClose: c\r\nContent-Length: 2\r\n\r\nok"},
	{"listed", "GET", "HTTP/1.1 200 OK\r\nConnection: X-Private\r\nConnection: x-other\r\nX-Private: s\r\nX-Other: o\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\n\r\nhop"},
	{"hop-by-hop", "GET", "HTTP/1.1 200 OK\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nTe: trailers\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"},
	{"no-content", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n"},
	{"not-modified", "GET", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"},
	{"no-content-chunked", "GET", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\nContent-Type: text/html\r\n\r\n"},
	{"head-chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"head-none", "HEAD", "HTTP/1.1 200 OK\r\n\r\n"},
	{"duplicates", "GET", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-A: 1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\nContent-Length: 0\r\n\r\n"},
	{"lower-case", "GET", "HTTP/1.1 200 OK\r\ncontent-type: text/x\r\nx-foo-bar: y\r\ncontent-length: 1\r\n\r\nx"},
	{"odd-names", "GET", "HTTP/1.1 200 OK\r\nx_under_score: 1\r\nX-!#$%&'*+.^`|~: 2\r\nContent-Length: 0\r\n\r\n"},
	{"spaces", "GET", "HTTP/1.1 200 OK\r\nX-A:   padded \t \r\nX-B:\tx\r\nX-Empty:\r\nX-Sp: \r\nContent-Length: 0\r\n\r\n"},
	{"non-ascii", "GET", "HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9 \xff\r\nContent-Length: 0\r\n\r\n"},
	{"event-stream", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 6\r\n\r\ndata:1"},
	{"event-stream-second", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/event-stream\r\nContent-Length: 1\r\n\r\nx"},
	{"pragma", "GET", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n"},
	{"interim", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"},
	{"continue", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"},
	{"switching", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"},
	{"bare-lf", "GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	{"bare-lf-inside", "GET", "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 2\r\n\r\nok"},
	{"bare-cr", "GET", "HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 2\r\n\r\nok"},
	{"obs-fold", "GET", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok"},
	{"length-twice-same", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
	{"length-twice-differ", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
	{"length-list", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"},
	{"length-negative", "GET", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"},
	{"length-plus", "GET", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok"},
	{"length-empty", "GET", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok"},
	{"length-huge", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok"},
	{"garbage", "GET", "garbage\r\n\r\n"},
	{"garbage-long", "GET", "this is not HTTP at all\r\nnope\r\n\r\n"},
	{"blank-first", "GET", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"bad-status", "GET", "HTTP/1.1 abc OK\r\n\r\n"},
	{"short-status", "GET", "HTTP/1.1 20 OK\r\n\r\n"},
	{"long-status", "GET", "HTTP/1.1 2000 OK\r\n\r\n"},
	{"double-space", "GET", "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"http2", "GET", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"http12", "GET", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"lower-proto", "GET", "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"bad-name", "GET", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"},
	{"space-before-colon", "GET", "HTTP/1.1 200 OK\r\nX-A : x\r\nContent-Length: 0\r\n\r\n"},
	{"empty-name", "GET", "HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 0\r\n\r\n"},
	{"no-colon", "GET", "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n"},
	{"control-value", "GET", "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n"},
	{"del-value", "GET", "HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 0\r\n\r\n"},
	{"control-reason", "GET", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"},
	{"head-cut", "GET", "HTTP/1.1 200 OK\r\nContent-Le"},
	{"empty", "GET", ""},
	{"big-head", "GET", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 9000) + "\r\nContent-Length: 2\r\n\r\nok"},
	{"many-fields", "GET", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Many: v\r\n", 70) + "Content-Length: 2\r\n\r\nok"},
	{"big-body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("0123456789", 10000)},
	{"big-body-cut", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("0123456789", 5000)},
	{"big-chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4e20\r\n" + strings.Repeat("ab", 10000) + "\r\n0\r\n\r\n"},
}

// answer is what the caller gets from one replica answer, and what is left
// of the connection after it.
type answer struct {
	status int
	header http.Header
	body   string
	failed bool // the answer failed (head) or was cut (body)
	close  bool
	flush  bool
	rest   string
}

// oldAnswer reads raw the way the fast path did with http.ReadResponse alone.
func oldAnswer(raw, method string) answer {
	br := bufio.NewReaderSize(strings.NewReader(raw), 8<<10)
	resp, err := readResponse(br, &http.Request{Method: method})
	if err != nil {
		return answer{failed: true}
	}
	a := answer{status: resp.StatusCode, header: http.Header{}, close: resp.Close}
	copyResponseHeader(a.header, resp.Header)
	if resp.Body != http.NoBody && resp.ContentLength != 0 {
		a.flush = resp.ContentLength < 0 || isEventStream(resp.Header)
		b, err := io.ReadAll(resp.Body)
		a.body, a.failed = string(b), err != nil
	}
	rest, _ := io.ReadAll(br)
	a.rest = string(rest)
	return a
}

// newAnswer reads raw with the fast path's parser and body copy; fast is
// false when the parser left the answer to http.ReadResponse.
func newAnswer(t *testing.T, r *Router, raw, method string) (a answer, fast bool) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 8<<10)
	_, _ = br.Peek(1)
	h := http.Header{}
	rh, ok := peekRespHead(br, h, method)
	if !ok {
		// Nothing consumed, nothing set: http.ReadResponse sees the same bytes.
		rest, _ := io.ReadAll(br)
		if string(rest) != raw || len(h) != 0 {
			t.Fatalf("fallback after consuming input or setting fields: %v", h)
		}
		return a, false
	}
	_, _ = br.Discard(rh.size)
	a = answer{status: rh.status, header: h, close: rh.close, flush: rh.length != 0 && rh.flush()}
	rec := httptest.NewRecorder()
	if err := r.copyBody(rec, br, rh.body(br), rh.length, rh.flush()); err != nil {
		a.failed = true
	}
	a.body = rec.Body.String()
	rest, _ := io.ReadAll(br)
	a.rest = string(rest)
	return a, true
}

// TestResponseParserMatchesReadResponse: every answer the parser takes gives
// the caller the same status, fields, body, framing and leftover bytes as
// http.ReadResponse; every other one is left to it untouched.
func TestResponseParserMatchesReadResponse(t *testing.T) {
	r := New(Config{Functions: &fakeFunctions{}})
	wantFast := map[string]bool{
		"length": true, "chunked": true, "chunked-trailer": true, "http10-close": true, "listed": true,
		"head": true, "no-content": true, "duplicates": true, "lower-case": true, "big-body": true,
		"garbage": false, "bare-lf": false, "interim": false, "pragma": false, "obs-fold": false,
	}
	for _, tc := range respCases {
		t.Run(tc.name, func(t *testing.T) {
			old := oldAnswer(tc.raw, tc.method)
			got, fast := newAnswer(t, r, tc.raw, tc.method)
			if want, ok := wantFast[tc.name]; ok && want != fast {
				t.Fatalf("parsed by the fast parser: %v, want %v", fast, want)
			}
			if !fast {
				return
			}
			// A failed answer closes the connection: what is left does not matter.
			if got.status != old.status || got.failed != old.failed || got.body != old.body ||
				got.close != old.close || got.flush != old.flush || got.rest != old.rest && !old.failed {
				t.Fatalf("fast parser:\n%+v\nhttp.ReadResponse:\n%+v", got, old)
			}
			if !reflect.DeepEqual(got.header, old.header) {
				t.Fatalf("fields %v, want %v", got.header, old.header)
			}
		})
	}
}

// TestResponseParserReplacesFields: a field the writer already had is
// replaced by the replica's values, as copyResponseHeader does.
func TestResponseParserReplacesFields(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	h := http.Header{"X-A": {"before"}, "X-B": {"kept"}}
	if _, ok := peekRespHead(br, h, "GET"); !ok {
		t.Fatal("not parsed")
	}
	want := http.Header{"X-A": {"1", "2"}, "X-B": {"kept"}, "Content-Length": {"0"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("fields %v, want %v", h, want)
	}
	// Appending to one field's values must not touch another's.
	h["X-A"] = append(h["X-A"], "3")
	if h.Get("Content-Length") != "0" {
		t.Fatalf("values share storage: %v", h)
	}
}

// rawReplica answers every request on a connection with raw, then closes it.
func rawReplica(t *testing.T, raw string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				var head bytes.Buffer
				for !bytes.HasSuffix(head.Bytes(), []byte("\r\n\r\n")) {
					b, err := br.ReadByte()
					if err != nil {
						return
					}
					head.WriteByte(b)
				}
				_, _ = c.Write([]byte(raw))
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				_, _ = io.Copy(io.Discard, br)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestFastPathMalformedAnswers: an answer the replica botches gives the
// caller a 502, as it did with http.ReadResponse alone; a cut body is a cut
// answer.
func TestFastPathMalformedAnswers(t *testing.T) {
	for _, raw := range []string{
		"garbage\r\n\r\n",
		"this is not HTTP at all\r\nnope\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Le",
		"",
	} {
		h := newHarness(t, 5*time.Second)
		h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: rawReplica(t, raw)}})
		resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn/", ""))
		if resp.StatusCode != http.StatusBadGateway || body != "" {
			t.Errorf("%q: %d %q, want 502", raw, resp.StatusCode, body)
		}
		if resp.Header.Get(HeaderCallID) == "" {
			t.Errorf("%q: no call id on the 502", raw)
		}
	}
}

// TestFastPathAnswerShapesRaw: well-formed answers of each framing reach the
// caller whole, with the gateway's headers.
func TestFastPathAnswerShapesRaw(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", "hello"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello"},
		{"HTTP/1.0 200 OK\r\n\r\nuntil close", "until close"},
		{"HTTP/1.1 200 OK\r\nContent-Length: " + "100000" + "\r\n\r\n" + strings.Repeat("x", 100000), strings.Repeat("x", 100000)},
	}
	for _, tt := range tests {
		h := newHarness(t, 5*time.Second)
		h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{{ID: "r1", Address: rawReplica(t, tt.raw)}})
		resp, body := h.do(t, mustReq(t, "GET", h.srv.URL+"/function/fn.openfaas-fn/", ""))
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("%.40q: %d %.40q", tt.raw, resp.StatusCode, body)
		}
		if resp.Header.Get(HeaderCallID) == "" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("%.40q: gateway headers missing: %v", tt.raw, resp.Header)
		}
	}
}
