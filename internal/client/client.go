// Package client is a Go client of the fjord / OpenFaaS gateway API, used by the CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fjord-faas/fjord/internal/stack"
	"github.com/fjord-faas/fjord/internal/version"
)

// DefaultTimeout bounds every call except log streaming and invocations.
const DefaultTimeout = 60 * time.Second

// Options configure a Client. Token wins over Username/Password.
type Options struct {
	Username, Password string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// HTTPClient defaults to a client without an overall timeout (calls use contexts).
	HTTPClient *http.Client
	// UserAgent defaults to "fjord/<release>".
	UserAgent string
	// Timeout bounds non-streaming system calls; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Client talks to one gateway.
type Client struct {
	gateway string
	opts    Options
	hc      *http.Client
}

// New returns a client for gatewayURL (normalised as stack.NormalizeGateway does).
func New(gatewayURL string, opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = version.UserAgent()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Client{gateway: stack.NormalizeGateway(gatewayURL), opts: opts, hc: opts.HTTPClient}
}

// Gateway returns the normalised gateway URL.
func (c *Client) Gateway() string { return c.gateway }

// StatusError is a non-success answer of the gateway.
type StatusError struct {
	Method, Path string
	Status       int
	// Body is the server's (trimmed) text body.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// StatusCode returns the HTTP status carried by err, or 0 if it is not a *StatusError.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// request is one system call.
type request struct {
	method, path string
	query        url.Values
	body         any
}

func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	u := c.gateway + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("create request: %w", err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	switch {
	case c.opts.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	case c.opts.Username != "" || c.opts.Password != "":
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	}
	return req, nil
}

// do runs a system call. Any 2xx is success; the decoded JSON goes into out when
// out is non-nil. It returns the status code.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return 0, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call gateway: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, statusError(req, res)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s %s: %w", r.method, r.path, err)
		}
	}
	return res.StatusCode, nil
}

func statusError(req *http.Request, res *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return &StatusError{Method: req.Method, Path: req.URL.Path, Status: res.StatusCode, Body: strings.TrimSpace(string(data))}
}

func nsQuery(namespace string) url.Values {
	if namespace == "" {
		return nil
	}
	return url.Values{"namespace": {namespace}}
}
