package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/fjord-faas/fjord/internal/api"
)

// DeadLetter is a dead-lettered async call as the gateway lists it.
type DeadLetter = api.DeadLetter

// ListDeadLetters returns the dead-lettered async calls, oldest first;
// namespace "" lists every namespace.
func (c *Client) ListDeadLetters(ctx context.Context, namespace string) ([]DeadLetter, error) {
	out := []DeadLetter{}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/async/dead-letters", query: nsQuery(namespace)}, &out)
	return out, wrap("list dead letters", err)
}

// ReplayDeadLetter queues a dead-lettered call again (same call id, a fresh
// attempt budget) and removes it from the list.
func (c *Client) ReplayDeadLetter(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/system/async/dead-letters/" + url.PathEscape(id) + "/replay"}, nil)
	return wrap("replay dead letter "+id, err)
}

// RemoveDeadLetter deletes a dead-lettered call.
func (c *Client) RemoveDeadLetter(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/system/async/dead-letters/" + url.PathEscape(id)}, nil)
	return wrap("remove dead letter "+id, err)
}
