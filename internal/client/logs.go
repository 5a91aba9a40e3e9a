package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fjord-faas/fjord/internal/api"
)

// LogsRequest selects the log lines of a function.
type LogsRequest struct {
	Name, Namespace, Instance string
	// Tail is the max number of lines; <= 0 means all.
	Tail int
	// Follow keeps streaming until ctx ends or the server closes the stream.
	Follow bool
	// Since, when non-zero, only returns newer lines.
	Since time.Time
}

func (r LogsRequest) query() url.Values {
	q := url.Values{"name": {r.Name}, "follow": {strconv.FormatBool(r.Follow)}}
	if r.Namespace != "" {
		q.Set("namespace", r.Namespace)
	}
	if r.Instance != "" {
		q.Set("instance", r.Instance)
	}
	tail := r.Tail
	if tail <= 0 {
		tail = -1
	}
	q.Set("tail", strconv.Itoa(tail))
	if !r.Since.IsZero() {
		q.Set("since", r.Since.UTC().Format(time.RFC3339))
	}
	return q
}

// Logs streams NDJSON log lines into fn until the stream ends, ctx is done, or
// fn returns an error (which Logs returns). A cancelled ctx returns nil.
func (c *Client) Logs(ctx context.Context, r LogsRequest, fn func(api.LogMessage) error) error {
	req, err := c.newRequest(ctx, request{method: http.MethodGet, path: "/system/logs", query: r.query()})
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("get logs of %s: call gateway: %w", r.Name, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("get logs of %s: %w", r.Name, statusError(req, res))
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var msg api.LogMessage
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs of %s: %w", r.Name, err)
	}
	return nil
}
