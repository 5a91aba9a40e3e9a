package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/fjord-faas/fjord/internal/api"
)

// Namespaces lists the namespaces (GET /system/namespaces).
func (c *Client) Namespaces(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/namespaces"}, &out)
	return out, wrap("list namespaces", err)
}

// GetNamespace returns one namespace.
func (c *Client) GetNamespace(ctx context.Context, name string) (api.FunctionNamespace, error) {
	var out api.FunctionNamespace
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/namespace/" + url.PathEscape(name)}, &out)
	return out, wrap("get namespace "+name, err)
}

// CreateNamespace creates a namespace; the label and annotation openfaas=1 are added.
func (c *Client) CreateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/system/namespace/", body: withMarker(ns)}, nil)
	return wrap("create namespace "+ns.Name, err)
}

// UpdateNamespace replaces a namespace's labels and annotations (openfaas=1 kept).
func (c *Client) UpdateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: "/system/namespace/" + url.PathEscape(ns.Name), body: withMarker(ns)}, nil)
	return wrap("update namespace "+ns.Name, err)
}

// RemoveNamespace deletes an empty namespace.
func (c *Client) RemoveNamespace(ctx context.Context, name string) error {
	body := api.FunctionNamespace{Name: name, Labels: map[string]string{"openfaas": "1"}}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/system/namespace/" + url.PathEscape(name), body: body}, nil)
	return wrap("remove namespace "+name, err)
}

func withMarker(ns api.FunctionNamespace) api.FunctionNamespace {
	labels := map[string]string{"openfaas": "1"}
	for k, v := range ns.Labels {
		labels[k] = v
	}
	annotations := map[string]string{"openfaas": "1"}
	for k, v := range ns.Annotations {
		annotations[k] = v
	}
	ns.Labels, ns.Annotations = labels, annotations
	return ns
}
