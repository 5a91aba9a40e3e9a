package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// DeadLetter is an async call that failed for good, as
// GET /system/async/dead-letters lists it.
type DeadLetter struct {
	// ID names the entry for replay and remove.
	ID string `json:"id"`
	// Function and Namespace name the function called.
	Function  string `json:"function"`
	Namespace string `json:"namespace"`
	// Status is the last status the call got (503: no replica answered).
	Status int `json:"status"`
	// Attempts is the number of calls made.
	Attempts int `json:"attempts"`
	// Error describes the last failure.
	Error string `json:"error"`
	// Time is when the call was dead-lettered.
	Time time.Time `json:"time"`
	// Message is the queued call as the server stores it (body in base64).
	Message json.RawMessage `json:"message,omitempty"`
}

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
