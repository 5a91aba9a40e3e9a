package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Callback headers (contract section 9).
const (
	HeaderFunctionStatus = "X-Function-Status"
	HeaderFunctionName   = "X-Function-Name"
	HeaderDuration       = "X-Duration-Seconds"
	HeaderCallID         = "X-Call-Id"
)

// hopHeaders are not copied from the function's answer to the callback.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Content-Length"}

// callback posts the final outcome to m.CallbackURL: the function's body and
// headers, with the status, name, call id and the seconds since dequeue set.
// Its own result is only logged.
func (q *Queue) callback(ctx context.Context, m *Message, res result, dequeued time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.CallbackURL, bytes.NewReader(res.body))
	if err != nil {
		q.log.Warn("async callback failed", "url", m.CallbackURL, "call_id", m.CallID, "err", err)
		return
	}
	h := res.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Set(HeaderDuration, fmt.Sprintf("%f", time.Since(dequeued).Seconds()))
	h.Set(HeaderFunctionStatus, strconv.Itoa(res.status))
	h.Set(HeaderFunctionName, m.Function)
	h.Set(HeaderCallID, m.CallID)
	h.Set("User-Agent", q.cfg.UserAgent)
	req.Header = h
	resp, err := q.client.Do(req)
	if err != nil {
		q.log.Warn("async callback failed", "url", m.CallbackURL, "call_id", m.CallID, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	q.log.Debug("async callback sent", "url", m.CallbackURL, "call_id", m.CallID, "status", resp.StatusCode)
}
