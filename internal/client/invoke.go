package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/fjord-faas/fjord/internal/api"
)

// InvokeRequest is one call of a function. Credentials are never sent.
type InvokeRequest struct {
	Name string
	// Namespace defaults to openfaas-fn; it is appended as NAME.NS.
	Namespace string
	// Method defaults to POST (async calls are always POST).
	Method string
	// Path is appended after /function/NAME.NS (e.g. "/a/b"); optional.
	Path  string
	Query url.Values
	// Header is sent as given; ContentType, when set, overrides Content-Type.
	Header      http.Header
	ContentType string
	Body        io.Reader
	// CallbackURL sets X-Callback-Url (async only).
	CallbackURL string
}

// InvokeResponse is a function's answer.
type InvokeResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Invoke calls /function/NAME.NS synchronously. Any status is returned as a
// response; only transport errors are errors, so callers decide what a non-2xx means.
func (c *Client) Invoke(ctx context.Context, r InvokeRequest) (*InvokeResponse, error) {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := c.invokeRequest(ctx, method, "/function/", r)
	if err != nil {
		return nil, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", r.Name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read response: %w", r.Name, err)
	}
	return &InvokeResponse{Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

// InvokeAsync queues a call with POST /async-function/NAME.NS and expects 202.
// It returns the X-Call-Id of the queued call.
func (c *Client) InvokeAsync(ctx context.Context, r InvokeRequest) (string, error) {
	req, err := c.invokeRequest(ctx, http.MethodPost, "/async-function/", r)
	if err != nil {
		return "", err
	}
	if r.CallbackURL != "" {
		req.Header.Set("X-Callback-Url", r.CallbackURL)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("invoke %s async: %w", r.Name, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("invoke %s async: %w", r.Name, statusError(req, res))
	}
	return res.Header.Get("X-Call-Id"), nil
}

func (c *Client) invokeRequest(ctx context.Context, method, prefix string, r InvokeRequest) (*http.Request, error) {
	ns := r.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	u := c.gateway + prefix + url.PathEscape(r.Name+"."+ns)
	if r.Path != "" {
		u += "/" + strings.TrimPrefix(r.Path, "/")
	}
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r.Body)
	if err != nil {
		return nil, fmt.Errorf("create request: %w", err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	return req, nil
}
