package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The fast path reads a replica's answer head itself when it is one it fully
// understands: HTTP/1.0 or 1.1, a final status (2xx–9xx), CRLF line ends,
// token field names, field values without control bytes, at most one
// Content-Length (plain digits) and one Transfer-Encoding (exactly "chunked",
// HTTP/1.1 only, not with a Content-Length), no Pragma and no Trailer
// declaration. Its fields go straight into the caller's header map, with one
// copy of the head and one backing array for the values. Anything else — 1xx
// answers included — is left unread in the buffer for http.ReadResponse, so
// every answer behaves as it did with http.ReadResponse alone.

// respHead is a response head the fast path parsed itself.
type respHead struct {
	size        int   // bytes of the head in the reader
	status      int   // final status code
	length      int64 // body length framed by Content-Length; -1 otherwise
	chunked     bool  // Transfer-Encoding: chunked
	bodyless    bool  // HEAD, 204 or 304: no body whatever the head says
	close       bool  // the connection ends after this answer
	eventStream bool  // Content-Type text/event-stream: flush as it comes
	dropConn    bool  // an HTTP/1.1 "Connection: close": its listed fields stay
}

// maxRespFields bounds the fields of a head the fast path parses; a longer
// head is read by http.ReadResponse.
const maxRespFields = 64

type respField struct{ key, value string }

// peekRespHead parses the response head at the start of br into h (hop-by-hop
// fields left out, as copyResponseHeader does) and reports its framing. The
// head is not consumed: the caller discards rh.size bytes. false leaves both
// br and h untouched: the caller reads the answer with http.ReadResponse.
func peekRespHead(br *bufio.Reader, h http.Header, method string) (rh respHead, ok bool) {
	raw := peekHead(br)
	if raw == nil {
		return rh, false
	}
	var fields [maxRespFields]respField
	n, ok := parseRespHead(string(raw), method, &rh, &fields)
	if !ok {
		return rh, false
	}
	rh.size = len(raw)
	fillResponseHeader(h, fields[:n], rh.stripListed(fields[:n]))
	return rh, true
}

// peekHead returns the complete head (with its final CRLF CRLF) buffered at
// the start of br, reading more as needed; nil when the head does not fit the
// buffer, the connection fails first, or it has a bare LF (http.ReadResponse
// accepts those and must see them).
func peekHead(br *bufio.Reader) []byte {
	from := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
			return buf[:from+i+4]
		}
		if len(buf) >= br.Size() || hasBareLF(buf) {
			return nil
		}
		from = max(len(buf)-3, 0)
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return nil
		}
	}
}

var crlfcrlf = []byte("\r\n\r\n")

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// parseRespHead parses s, a whole head, into rh and fields; false for a head
// the fast path leaves to http.ReadResponse.
func parseRespHead(s, method string, rh *respHead, fields *[maxRespFields]respField) (int, bool) {
	line, rest, _ := strings.Cut(s, "\r\n")
	// Status line: HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || line[:7] != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false
	}
	var http11 bool
	switch line[7] {
	case '1':
		http11 = true
	case '0':
	default:
		return 0, false
	}
	status := 0
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || !httpguts.ValidHeaderFieldValue(line[12:]) {
		return 0, false // interim answers are read by http.ReadResponse
	}
	rh.status = status
	rh.length = -1
	rest = rest[:len(rest)-2] // the blank line
	n, lengths, encodings := 0, 0, 0
	hasClose, hasKeepAlive := false, false
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\r\n")
		name, value, found := strings.Cut(line, ":")
		if !found || !httpguts.ValidHeaderFieldName(name) {
			return 0, false // includes obs-fold continuation lines
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) || n == maxRespFields {
			return 0, false
		}
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Content-Length":
			lengths++
			if value == "" || len(value) > 18 {
				return 0, false
			}
			var l int64
			for _, c := range []byte(value) {
				if c < '0' || c > '9' {
					return 0, false
				}
				l = l*10 + int64(c-'0')
			}
			rh.length = l
		case "Transfer-Encoding":
			encodings++
			if value != "chunked" || !http11 {
				return 0, false
			}
			rh.chunked = true
		case "Connection":
			for v := value; v != ""; {
				var tok string
				tok, v, _ = strings.Cut(v, ",")
				tok = strings.Trim(tok, " \t")
				hasClose = hasClose || strings.EqualFold(tok, "close")
				hasKeepAlive = hasKeepAlive || strings.EqualFold(tok, "keep-alive")
			}
		case "Content-Type":
			if !hasField(fields[:n], key) {
				rh.eventStream = strings.HasPrefix(value, "text/event-stream")
			}
		case "Pragma", "Trailer":
			return 0, false
		}
		fields[n] = respField{key, value}
		n++
	}
	if lengths > 1 || encodings > 1 || lengths == 1 && encodings == 1 {
		return 0, false
	}
	rh.bodyless = method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
	if rh.bodyless && rh.chunked {
		return 0, false
	}
	if http11 {
		rh.close = hasClose
	} else {
		rh.close = hasClose || !hasKeepAlive
	}
	if !rh.bodyless && !rh.chunked && rh.length < 0 {
		rh.close = true // the body runs until the replica closes
	}
	if rh.bodyless {
		rh.length = 0
	}
	// http.ReadResponse drops an HTTP/1.1 "Connection: close" field: the
	// fields it lists are then kept. stripListed reads this back.
	rh.dropConn = http11 && hasClose
	return n, true
}

// body is the reader of the answer's body after the head: nil when there is
// none or it is framed by rh.length (copyBody reads it from br itself).
func (rh *respHead) body(br *bufio.Reader) io.Reader {
	switch {
	case rh.bodyless:
		return nil
	case rh.chunked:
		return newChunkedBody(br)
	case rh.length < 0:
		return br // until the replica closes
	}
	return nil
}

// flush: the body goes to the caller as it comes (unknown length, events).
func (rh *respHead) flush() bool { return rh.length < 0 || rh.eventStream }

// stripListed reports the Connection values whose listed fields are left out.
func (rh *respHead) stripListed(fields []respField) []string {
	if rh.dropConn {
		return nil
	}
	var conn []string
	for _, f := range fields {
		if f.key == "Connection" {
			conn = append(conn, f.value)
		}
	}
	return conn
}

func hasField(fields []respField, key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}

// fillResponseHeader sets the end-to-end fields in h, as copyResponseHeader
// does with a parsed header: each name's values replace what h had.
func fillResponseHeader(h http.Header, fields []respField, conn []string) {
	kept := 0
	for i := range fields {
		if hopByHop(fields[i].key) || listedIn(conn, fields[i].key) {
			fields[i].key = ""
			continue
		}
		kept++
	}
	if kept == 0 {
		return
	}
	vals := make([]string, kept)
	j := 0
	for i, f := range fields {
		if f.key == "" {
			continue
		}
		vals[j] = f.value
		if hasField(fields[:i], f.key) {
			h[f.key] = append(h[f.key], f.value)
		} else {
			h[f.key] = vals[j : j+1 : j+1]
		}
		j++
	}
}

// hopByHop: the fields a proxy does not forward.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// chunkedBody reads a chunked body from the replica and then its trailer
// section, which is consumed and dropped (as the reverse path's copy does).
type chunkedBody struct {
	br *bufio.Reader
	cr io.Reader
}

func newChunkedBody(br *bufio.Reader) *chunkedBody {
	return &chunkedBody{br: br, cr: httputil.NewChunkedReader(br)}
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	n, err := b.cr.Read(p)
	if err == io.EOF {
		if terr := readTrailer(b.br); terr != nil {
			return n, terr
		}
	}
	return n, err
}

var errLongTrailer = errors.New("trailer section too long")

// readTrailer consumes the trailer section after the last chunk.
func readTrailer(br *bufio.Reader) error {
	buf, err := br.Peek(2)
	if string(buf) == "\r\n" {
		_, _ = br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	// Fields follow: the section must end within the buffer.
	for from := 0; ; {
		buf, _ = br.Peek(br.Buffered())
		if i := bytes.Index(buf[from:], crlfcrlf); i >= 0 {
			break
		}
		if len(buf) >= br.Size() {
			return errLongTrailer
		}
		from = max(len(buf)-3, 0)
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	if _, err := textproto.NewReader(br).ReadMIMEHeader(); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}
