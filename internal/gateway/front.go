package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The front is the gateway's own HTTP/1.1 connection loop for function calls.
// It reads each request head itself; a plain call to /function/… (HTTP/1.1, a
// body of known length the router takes on its fast path, no Expect, no
// upgrade) is served on the connection's goroutine with a lean response writer.
// Anything else — the system API, the registry, a chunked upload, a malformed
// head — hands the connection, with every byte not yet consumed, to the
// net/http server, which owns it from then on. The front saves what net/http
// spends per call on a function call: a background reader goroutine, a
// cancelable context watcher, layered buffers and a copy of the header map.

// frontBufSize bounds a request head the front parses itself; a larger head
// is handed to net/http (which accepts up to 1 MiB).
const frontBufSize = 8 << 10

// watchAfter is how long a call runs before the front starts watching the
// caller's connection for a disconnect (net/http watches every call at once).
const watchAfter = 20 * time.Millisecond

// front owns the gateway's listener and hands connections it does not serve
// to the net/http server through handoff.
type front struct {
	s        *Server
	ln       net.Listener
	handoff  *handoffListener
	eligible func(*http.Request) bool

	mu       sync.Mutex
	conns    map[*frontConn]struct{}
	closing  bool
	wg       sync.WaitGroup
	dateMu   sync.Mutex
	date     []byte
	dateUnix int64
}

func newFront(s *Server, ln net.Listener) *front {
	f := &front{s: s, ln: ln, conns: make(map[*frontConn]struct{}),
		handoff: &handoffListener{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}}
	f.eligible = func(*http.Request) bool { return true }
	if e, ok := s.router.(interface{ FastEligible(*http.Request) bool }); ok {
		f.eligible = e.FastEligible
	}
	return f
}

// serve accepts connections until the listener is closed.
func (f *front) serve() error {
	var delay time.Duration
	for {
		c, err := f.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		fc := &frontConn{f: f, nc: c}
		if !f.track(fc) {
			c.Close()
			continue
		}
		go fc.serve()
	}
}

func (f *front) track(fc *frontConn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return false
	}
	f.conns[fc] = struct{}{}
	f.wg.Add(1)
	return true
}

func (f *front) untrack(fc *frontConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
	f.wg.Done()
}

// shutdown stops accepting, closes idle connections and waits for calls in
// flight to finish (each connection closes after its current call) until ctx ends.
func (f *front) shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closing = true
	for fc := range f.conns {
		fc.closeIfIdle()
	}
	f.mu.Unlock()
	_ = f.ln.Close()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		for fc := range f.conns {
			fc.nc.Close()
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

func (f *front) isClosing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closing
}

// appendDate appends the current Date value, formatted once a second.
func (f *front) appendDate(b []byte, now time.Time) []byte {
	f.dateMu.Lock()
	defer f.dateMu.Unlock()
	if u := now.Unix(); u != f.dateUnix || f.date == nil {
		f.date = now.UTC().AppendFormat(f.date[:0], http.TimeFormat)
		f.dateUnix = u
	}
	return append(b, f.date...)
}

// handoffListener feeds connections the front hands over to http.Server.Serve.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give hands c to the net/http server; false once it has stopped.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// prefixConn replays bytes the front read before it handed the connection over.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// frontConn is one client connection served by the front.
type frontConn struct {
	f          *front
	nc         net.Conn
	br         *bufio.Reader
	bw         *bufio.Writer
	remoteAddr string // nc.RemoteAddr().String(), once per connection
	head       reqHead

	mu     sync.Mutex
	active bool // a call is in progress
	closed bool

	// caller-disconnect watch for long calls
	watchTimer *time.Timer
	watchCall  *frontCall
	watchMu    sync.Mutex
	bgDone     chan struct{}
	bgByte     [1]byte
	bgGot      bool
}

// frontCall is the state of one call on a connection, in one allocation:
// its context, request (the one handed to the handler is req.WithContext),
// URL, body and response writer.
type frontCall struct {
	ctx          callCtx
	bodyBuffered bool        // the whole body was in the buffer when the call began
	bodyDone     atomic.Bool // the handler read the body to its end
	req          http.Request
	url          url.URL
	body         frontBody
	w            frontWriter
}

func (call *frontCall) cancel() { call.ctx.cancel(context.Canceled) }

func (fc *frontConn) closeIfIdle() {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !fc.active && !fc.closed {
		fc.closed = true
		fc.nc.Close()
	}
}

// setActive marks a call in progress; false when the connection was closed
// while idle (shutdown).
func (fc *frontConn) setActive(v bool) bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.closed {
		return false
	}
	fc.active = v
	return true
}

func (fc *frontConn) serve() {
	handedOff := false
	defer func() {
		if !handedOff {
			fc.mu.Lock()
			if !fc.closed {
				fc.closed = true
				fc.nc.Close()
			}
			fc.mu.Unlock()
		}
		fc.f.untrack(fc)
	}()
	fc.br = bufio.NewReaderSize(fc.nc, frontBufSize)
	fc.remoteAddr = fc.nc.RemoteAddr().String()
	fc.bw = bufio.NewWriterSize(fc.nc, 8<<10)
	s := fc.f.s
	for {
		_ = fc.nc.SetReadDeadline(time.Now().Add(s.srv.IdleTimeout))
		head, err := fc.readHead()
		if err != nil {
			if errors.Is(err, errHandOff) {
				handedOff = fc.handOff()
			}
			return
		}
		_ = fc.nc.SetReadDeadline(time.Time{})
		if !fc.setActive(true) {
			return
		}
		call, ok := fc.request(head)
		if !ok {
			fc.setActive(false)
			handedOff = fc.handOff()
			return
		}
		fc.br.Discard(head.size)
		keep, pipelined := fc.serveCall(call, head)
		if !fc.setActive(false) || !keep || fc.f.isClosing() {
			return
		}
		if pipelined {
			handedOff = fc.handOff()
			return
		}
	}
}

// errHandOff: the front does not serve this request itself.
var errHandOff = errors.New("hand off to net/http")

// reqHead is a parsed request head; its strings point into one copy of it.
type reqHead struct {
	size          int
	method        string
	target        string
	header        http.Header
	host          string
	contentLength int64
	close         bool
}

// readHead parses the next request head from the buffer without consuming
// it. It returns errHandOff for anything the front leaves to net/http, and
// the read error when the connection ends between requests.
func (fc *frontConn) readHead() (*reqHead, error) {
	br := fc.br
	n := 0
	begun := false
	for {
		buf, err := br.Peek(br.Buffered())
		if len(buf) > 0 && !begun {
			// A head has begun: it must be complete within the header timeout
			// (until then the connection was idle, under the idle timeout).
			begun = true
			_ = fc.nc.SetReadDeadline(time.Now().Add(fc.f.s.cfg.HeaderTimeout))
		}
		if i := indexHeadEnd(buf, n); i >= 0 {
			if err := parseHead(buf[:i], &fc.head); err != nil {
				return nil, err
			}
			return &fc.head, nil
		}
		if len(buf) >= frontBufSize {
			return nil, errHandOff // head too big for the front
		}
		n = max(len(buf)-3, 0)
		if err == nil {
			_, err = br.Peek(len(buf) + 1)
		}
		if err != nil {
			if len(buf) > 0 && !isTimeout(err) {
				return nil, errHandOff // let net/http answer the partial request
			}
			return nil, err // closed, or a head not finished in time: close
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// indexHeadEnd returns the length of the head including its final CRLF CRLF,
// or -1; the search starts at from.
func indexHeadEnd(b []byte, from int) int {
	for i := from; i+3 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' && b[i+2] == '\r' && b[i+3] == '\n' {
			return i + 4
		}
	}
	return -1
}

// parseHead parses a head the front serves, strictly: HTTP/1.1, a method the
// invoke route forwards, an origin-form target under /function/, CRLF line
// ends, token field names and field values without control bytes, one Host,
// at most one Content-Length and no Transfer-Encoding, Expect or Upgrade.
// Anything else is errHandOff, and net/http decides.
func parseHead(raw []byte, h *reqHead) error {
	s := string(raw) // one copy: the header strings below point into it
	*h = reqHead{size: len(raw)}
	line, rest, _ := strings.Cut(s, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" {
		return errHandOff
	}
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD":
	default:
		return errHandOff
	}
	if !strings.HasPrefix(target, "/function/") || !validTarget(target) {
		return errHandOff
	}
	h.method, h.target = method, target
	hosts, lengths := 0, 0
	rest = strings.TrimSuffix(rest, "\r\n") // the blank line
	// One backing array for the values, a one-element slice of it per name
	// (capped, so that appending to one never writes into the next).
	values := make([]string, strings.Count(rest, "\r\n"))
	h.header = make(http.Header, len(values))
	for n := 0; rest != ""; n++ {
		line, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(line, ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return errHandOff
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return errHandOff
		}
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Host":
			hosts++
			h.host = value
		case "Content-Length":
			lengths++
			l, err := strconv.ParseInt(value, 10, 64)
			if err != nil || l < 0 || value == "" || value[0] == '+' {
				return errHandOff
			}
			h.contentLength = l
		case "Transfer-Encoding", "Expect", "Upgrade":
			return errHandOff
		case "Connection":
			for v := value; v != ""; {
				var tok string
				tok, v, _ = strings.Cut(v, ",")
				tok = strings.TrimSpace(tok)
				switch {
				case strings.EqualFold(tok, "close"):
					h.close = true
				case strings.EqualFold(tok, "upgrade"):
					return errHandOff
				}
			}
		}
		if vs, ok := h.header[key]; ok {
			h.header[key] = append(vs, value)
		} else {
			values[n] = value
			h.header[key] = values[n : n+1 : n+1]
		}
	}
	if hosts != 1 || lengths > 1 {
		return errHandOff
	}
	return nil
}

// validTarget: visible ASCII, no fragment, well-formed escapes.
func validTarget(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c <= ' ' || c >= 0x7f || c == '#':
			return false
		case c == '%':
			if i+2 >= len(t) || !isHexDigit(t[i+1]) || !isHexDigit(t[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// request builds the call for a head; false hands off.
func (fc *frontConn) request(h *reqHead) (*frontCall, bool) {
	call := &frontCall{}
	req := &call.req
	if !requestURL(&call.url, h.target) {
		u, err := url.ParseRequestURI(h.target)
		if err != nil {
			return nil, false
		}
		call.url = *u
	}
	*req = http.Request{
		Method:        h.method,
		URL:           &call.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h.header,
		Host:          h.host,
		ContentLength: h.contentLength,
		RemoteAddr:    fc.remoteAddr,
		RequestURI:    h.target,
		Close:         h.close,
		Body:          http.NoBody,
	}
	if h.contentLength > 0 {
		// The body is still in (or behind) the buffer: only its length is read.
		call.body = frontBody{br: fc.br, n: h.contentLength, done: &call.bodyDone}
		req.Body = &call.body
	}
	if !fc.f.eligible(req) {
		return nil, false
	}
	return call, true
}

// requestURL fills u as url.ParseRequestURI would for a target whose path
// has only characters net/url leaves unescaped (so Path is the target's path
// and RawPath is empty); false for any other target.
func requestURL(u *url.URL, target string) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if !plainPathByte(path[i]) {
			return false
		}
	}
	*u = url.URL{Path: path}
	if hasQuery {
		if query == "" {
			u.ForceQuery = true
		} else {
			u.RawQuery = query
		}
	}
	return true
}

// plainPathByte: a byte url.URL keeps as is in a path (unreserved, or a
// sub-delimiter net/url does not escape there).
func plainPathByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

// frontBody is a request body the handler reads from the connection.
type frontBody struct {
	br   *bufio.Reader
	n    int64        // bytes of the body still to read
	done *atomic.Bool // set at the body's end
}

// Read reads like io.LimitReader(br, n) would (an early end of the
// connection is io.EOF too) and marks the body done at io.EOF.
func (b *frontBody) Read(p []byte) (n int, err error) {
	if b.n <= 0 {
		n, err = 0, io.EOF
	} else {
		if int64(len(p)) > b.n {
			p = p[:b.n]
		}
		n, err = b.br.Read(p)
		b.n -= int64(n)
	}
	if err == io.EOF {
		b.done.Store(true)
	}
	return n, err
}

func (b *frontBody) Close() error { return nil }

// handOff gives the connection, with the unread buffered bytes, to net/http.
func (fc *frontConn) handOff() bool {
	buffered, _ := fc.br.Peek(fc.br.Buffered())
	prefix := append([]byte(nil), buffered...)
	if fc.bgGot {
		prefix = append(prefix, fc.bgByte[0]) // read by the watch, after the buffer
		fc.bgGot = false
	}
	pc := &prefixConn{Conn: fc.nc, prefix: prefix}
	_ = fc.nc.SetReadDeadline(time.Time{})
	return fc.f.handoff.give(pc)
}

// serveCall runs one call; it reports whether the connection can carry the
// next request, and whether the caller already sent bytes of it (pipelined),
// which the watch read off the socket: then the connection is handed off.
func (fc *frontConn) serveCall(call *frontCall, head *reqHead) (keep, pipelined bool) {
	parent := fc.f.s.baseCtx
	call.ctx.parent = parent
	defer call.cancel()
	if parent.Done() != nil {
		stop := context.AfterFunc(parent, func() { call.ctx.cancel(parent.Err()) })
		defer stop()
	}
	req := call.req.WithContext(&call.ctx)
	var body *frontBody
	if req.Body == &call.body {
		body = &call.body
		call.bodyBuffered = int64(fc.br.Buffered()) >= head.contentLength
	} else {
		call.bodyBuffered = true
	}
	w := &call.w
	*w = frontWriter{fc: fc, req: req, header: make(http.Header, 8)}
	fc.armWatch(call)
	defer func() {
		fc.disarmWatch()
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				fc.f.s.log.Error("panic serving a function call", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			keep, pipelined = false, false
			return
		}
		pipelined = fc.bgGot
	}()
	fc.f.s.invoke(w, req)
	if err := w.finish(); err != nil {
		return false, false
	}
	// Discard what the handler left of the body before the next request.
	if body != nil && !call.bodyDone.Load() {
		if _, err := io.Copy(io.Discard, body); err != nil {
			return false, false
		}
	}
	return !head.close && !w.closeAfter, false
}

// armWatch starts watching the caller's connection for a disconnect once the
// call has run for watchAfter, so that long calls are cancelled when the
// caller goes away; short calls never start the watch.
func (fc *frontConn) armWatch(call *frontCall) {
	fc.watchMu.Lock()
	fc.watchCall = call
	fc.bgDone = nil
	fc.bgGot = false
	if fc.watchTimer == nil {
		fc.watchTimer = time.AfterFunc(watchAfter, fc.startWatch)
	} else {
		fc.watchTimer.Reset(watchAfter)
	}
	fc.watchMu.Unlock()
}

func (fc *frontConn) startWatch() {
	fc.watchMu.Lock()
	defer fc.watchMu.Unlock()
	call := fc.watchCall
	if call == nil || fc.bgDone != nil {
		return
	}
	// Bytes of the body still on the socket must not be taken for the next
	// request or a disconnect: wait until the body is read or buffered.
	if !call.bodyBuffered && !call.bodyDone.Load() {
		fc.watchTimer.Reset(watchAfter)
		return
	}
	done := make(chan struct{})
	fc.bgDone = done
	go func() {
		defer close(done)
		n, err := fc.nc.Read(fc.bgByte[:])
		if n > 0 {
			fc.bgGot = true // a pipelined request: replayed on hand-off
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return // disarmWatch ended the read
		}
		call.cancel()
	}()
}

// disarmWatch stops the watch and waits for its read to end.
func (fc *frontConn) disarmWatch() {
	fc.watchTimer.Stop()
	fc.watchMu.Lock()
	fc.watchCall = nil
	done := fc.bgDone
	fc.watchMu.Unlock()
	if done == nil {
		return
	}
	_ = fc.nc.SetReadDeadline(time.Unix(1, 0))
	<-done
	_ = fc.nc.SetReadDeadline(time.Time{})
}

// frontWriter is the response writer of a call served by the front. A small
// answer is sent with a Content-Length in one write when the handler returns;
// a larger or flushed one goes out chunked unless the handler set a length.
type frontWriter struct {
	fc         *frontConn
	req        *http.Request
	header     http.Header
	status     int
	wroteHead  bool
	chunked    bool
	bodyless   bool
	remaining  int64 // declared Content-Length still to write; -1 if none
	body       []byte
	closeAfter bool
	err        error
}

// frontBodyBuf is how much body the writer holds back to compute a length.
const frontBodyBuf = 4 << 10

func (w *frontWriter) Header() http.Header { return w.header }

// WriteHeader records the status; interim (1xx) answers are not forwarded.
func (w *frontWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
}

func (w *frontWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.req.Method == http.MethodHead || !bodyAllowed(w.status) {
		return len(p), nil
	}
	if !w.wroteHead {
		if len(w.body)+len(p) <= frontBodyBuf && w.header.Get("Content-Length") == "" {
			w.body = append(w.body, p...)
			return len(p), nil
		}
		if err := w.writeHead(-1); err != nil {
			return 0, err
		}
	}
	return w.writeBody(p)
}

// Flush sends the head and whatever body is buffered.
func (w *frontWriter) Flush() {
	if w.err != nil {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHead {
		if err := w.writeHead(-1); err != nil {
			return
		}
	}
	if err := w.fc.bw.Flush(); err != nil {
		w.fail(err)
	}
}

func (w *frontWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// finish completes the answer when the handler returns.
func (w *frontWriter) finish() error {
	if w.err != nil {
		return w.err
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHead {
		if err := w.writeHead(int64(len(w.body))); err != nil {
			return err
		}
	}
	if w.chunked {
		if _, err := w.fc.bw.WriteString("0\r\n\r\n"); err != nil {
			return w.fail(err)
		}
	} else if w.remaining > 0 {
		// The handler wrote less than the length it declared: the answer is cut.
		return w.fail(io.ErrShortWrite)
	}
	if err := w.fc.bw.Flush(); err != nil {
		return w.fail(err)
	}
	return nil
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// writeHead writes the status line and header. known >= 0 is the body's full
// length (the handler has returned); -1 means more may follow.
func (w *frontWriter) writeHead(known int64) error {
	w.wroteHead = true
	h := w.header
	w.remaining = -1
	w.bodyless = w.req.Method == http.MethodHead || !bodyAllowed(w.status)
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			delete(h, "Content-Length")
		} else if !w.bodyless {
			w.remaining = n
		}
	}
	length := int64(-1) // a Content-Length the writer adds (written, not put in h)
	if _, ok := h["Content-Length"]; !ok && bodyAllowed(w.status) {
		switch {
		case known >= 0:
			if w.req.Method != http.MethodHead || known > 0 {
				length = known
			}
			if !w.bodyless {
				w.remaining = known
			}
		case !w.bodyless:
			w.chunked = true
			h["Transfer-Encoding"] = chunkedValue
		}
	}
	delete(h, "Connection")
	if w.req.Close {
		w.closeAfter = true
		h["Connection"] = closeValue
	}
	bw := w.fc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(w.status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	if length >= 0 {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), length, 10))
		bw.WriteString("\r\n")
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(w.fc.f.appendDate(bw.AvailableBuffer(), time.Now()))
		bw.WriteString("\r\n")
	}
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return w.fail(err)
	}
	if len(w.body) > 0 {
		body := w.body
		w.body = nil
		if _, err := w.writeBody(body); err != nil {
			return err
		}
	}
	return nil
}

var (
	chunkedValue = []string{"chunked"}
	closeValue   = []string{"close"}
)

func (w *frontWriter) writeBody(p []byte) (int, error) {
	if w.bodyless {
		return len(p), nil
	}
	bw := w.fc.bw
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		if _, err := bw.WriteString("\r\n"); err != nil {
			return 0, w.fail(err)
		}
		return len(p), nil
	}
	if w.remaining >= 0 && int64(len(p)) > w.remaining {
		// More than the declared length: send what fits and fail the call.
		bw.Write(p[:w.remaining])
		w.remaining = 0
		return 0, w.fail(http.ErrContentLength)
	}
	n, err := bw.Write(p)
	if w.remaining > 0 {
		w.remaining -= int64(n)
	}
	if err != nil {
		return n, w.fail(err)
	}
	return n, nil
}

// callCtx is the context of a call the front serves, part of its frontCall:
// done when the call ends, when the caller goes away, or when its parent (the
// server's base context) is. It costs no allocation unless Done is called, and
// it implements AfterFunc (the method context.AfterFunc and derived contexts
// look for), so that the router's cancel hook needs no cancelCtx of its own.
type callCtx struct {
	parent context.Context
	mu     sync.Mutex
	done   chan struct{} // made by the first Done
	err    error
	first  afterFunc // the first AfterFunc, without an allocation
	used   bool      // first was taken (its stop may still be called: not reused)
	more   []*afterFunc
}

// afterFunc is a function to run once the context is done; f is nil once it
// ran or was stopped.
type afterFunc struct{ f func() }

// closedChan is Done of a context already done when Done is first called.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *callCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			c.done = closedChan
		} else {
			c.done = make(chan struct{})
		}
	}
	return c.done
}

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callCtx) String() string { return "gateway call context" }

// AfterFunc runs f in its own goroutine once the context is done (at once if
// it is); stop, like context.AfterFunc's, reports whether it kept f from
// running.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &c.first
	if c.used {
		a = &afterFunc{}
		c.more = append(c.more, a)
	}
	c.used = true
	a.f = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		stopped := a.f != nil
		a.f = nil
		return stopped
	}
}

// cancel marks the context done with err and starts its AfterFunc functions.
func (c *callCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	if f := c.first.f; f != nil {
		c.first.f = nil
		go f()
	}
	for _, a := range c.more {
		if f := a.f; f != nil {
			a.f = nil
			go f()
		}
	}
}
