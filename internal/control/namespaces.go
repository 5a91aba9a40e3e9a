package control

import (
	"context"
	"fmt"
	"slices"

	"github.com/fjord-faas/fjord/internal/api"
)

// ListNamespaces returns the default namespace first, then the created ones sorted.
func (s *Service) ListNamespaces(ctx context.Context) ([]string, error) {
	all, err := s.store.ListNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	out := make([]string, 0, len(all)+1)
	out = append(out, api.DefaultNamespace)
	for _, ns := range all {
		if ns.Name != api.DefaultNamespace {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out[1:])
	return out, nil
}

// GetNamespace returns a namespace; api.ErrNotFound when missing.
func (s *Service) GetNamespace(ctx context.Context, name string) (api.FunctionNamespace, error) {
	if err := api.ValidateName("namespace", name); err != nil {
		return api.FunctionNamespace{}, err
	}
	return s.store.GetNamespace(ctx, name)
}

// CreateNamespace creates a namespace labelled openfaas=1; api.ErrExists when present.
func (s *Service) CreateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	if err := validateNamespace(ns); err != nil {
		return err
	}
	if err := s.store.CreateNamespace(ctx, ns); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	s.log.Info("namespace created", "namespace", ns.Name)
	return nil
}

// UpdateNamespace replaces a namespace's labels and annotations; api.ErrNotFound when missing.
func (s *Service) UpdateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	if err := validateNamespace(ns); err != nil {
		return err
	}
	if err := s.store.UpdateNamespace(ctx, ns); err != nil {
		return fmt.Errorf("update namespace: %w", err)
	}
	return nil
}

// DeleteNamespace deletes an empty namespace other than the default, with its secrets.
func (s *Service) DeleteNamespace(ctx context.Context, name string) error {
	if err := api.ValidateName("namespace", name); err != nil {
		return err
	}
	if err := s.store.DeleteNamespace(ctx, name); err != nil {
		return fmt.Errorf("delete namespace: %w", err)
	}
	s.log.Info("namespace deleted", "namespace", name)
	return nil
}

func validateNamespace(ns api.FunctionNamespace) error {
	if err := api.ValidateName("namespace", ns.Name); err != nil {
		return err
	}
	if ns.Labels["openfaas"] != "1" {
		return fmt.Errorf("%w: namespace %s needs the label openfaas=1", api.ErrInvalid, ns.Name)
	}
	return nil
}
