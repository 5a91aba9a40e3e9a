package client

import (
	"context"
	"net/http"

	"github.com/fjord-faas/fjord/internal/api"
)

// ListSecrets returns the secret names of a namespace (never values).
func (c *Client) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	var out []api.Secret
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/system/secrets", query: nsQuery(namespace)}, &out)
	return out, wrap("list secrets", err)
}

// CreateSecret POSTs a secret; with replace, a 409 switches to PUT.
func (c *Client) CreateSecret(ctx context.Context, s api.Secret, replace bool) error {
	code, err := c.do(ctx, request{method: http.MethodPost, path: "/system/secrets", body: s}, nil)
	if err != nil && replace && code == http.StatusConflict {
		return c.UpdateSecret(ctx, s)
	}
	return wrap("create secret "+s.Name, err)
}

// UpdateSecret PUTs a new value for an existing secret.
func (c *Client) UpdateSecret(ctx context.Context, s api.Secret) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: "/system/secrets", body: s}, nil)
	return wrap("update secret "+s.Name, err)
}

// RemoveSecret deletes a secret.
func (c *Client) RemoveSecret(ctx context.Context, name, namespace string) error {
	body := api.Secret{Name: name, Namespace: namespace}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/system/secrets", body: body}, nil)
	return wrap("remove secret "+name, err)
}
