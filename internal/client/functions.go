package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fjord-faas/fjord/internal/api"
)

// DeployOptions choose how Deploy treats an existing function.
type DeployOptions struct {
	// Replace deletes the function first (ignoring 404), then POSTs it.
	Replace bool
	// NoUpdate skips the PUT and only POSTs (faas-cli --update=false).
	NoUpdate bool
}

// Deploy creates or updates a function: PUT, then POST when the PUT answers 404.
// It returns the final status code (200 or 202).
func (c *Client) Deploy(ctx context.Context, spec api.FunctionDeployment, opts DeployOptions) (int, error) {
	if opts.Replace {
		err := c.Remove(ctx, spec.Service, spec.Namespace)
		if err != nil && StatusCode(err) != http.StatusNotFound {
			return 0, fmt.Errorf("replace function %s: %w", spec.Service, err)
		}
	}
	if !opts.Replace && !opts.NoUpdate {
		code, err := c.do(ctx, request{method: http.MethodPut, path: "/system/functions", body: spec}, nil)
		if err == nil || code != http.StatusNotFound {
			return code, wrap("update function "+spec.Service, err)
		}
	}
	code, err := c.do(ctx, request{method: http.MethodPost, path: "/system/functions", body: spec}, nil)
	return code, wrap("deploy function "+spec.Service, err)
}

// List returns the functions of a namespace ("" = the gateway's default).
func (c *Client) List(ctx context.Context, namespace string) ([]api.FunctionStatus, error) {
	var out []api.FunctionStatus
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/functions", query: nsQuery(namespace)}, &out)
	return out, wrap("list functions", err)
}

// Get returns one function's status, with usage when the runtime reports it.
func (c *Client) Get(ctx context.Context, name, namespace string) (api.FunctionStatus, error) {
	q := url.Values{"usage": {"1"}}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	var out api.FunctionStatus
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/function/" + url.PathEscape(name), query: q}, &out)
	return out, wrap("get function "+name, err)
}

// Remove deletes a function.
func (c *Client) Remove(ctx context.Context, name, namespace string) error {
	body := api.DeleteFunctionRequest{FunctionName: name, Namespace: namespace}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/system/functions", body: body}, nil)
	return wrap("remove function "+name, err)
}

// Scale sets a function's desired replicas.
func (c *Client) Scale(ctx context.Context, name, namespace string, replicas uint64) error {
	body := api.ScaleServiceRequest{ServiceName: name, Namespace: namespace, Replicas: replicas}
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/system/scale-function/" + url.PathEscape(name), body: body}, nil)
	return wrap("scale function "+name, err)
}

// Info returns the gateway's identity (GET /system/info).
func (c *Client) Info(ctx context.Context) (api.GatewayInfo, error) {
	var out api.GatewayInfo
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/info"}, &out)
	return out, wrap("get gateway info", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
