package control

import (
	"context"
	"fmt"

	"github.com/fjord-faas/fjord/internal/api"
)

// ListSecrets returns the names of a namespace's secrets, never their values.
func (s *Service) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	ns := orDefault(namespace)
	if err := s.checkNamespace(ctx, ns); err != nil {
		return nil, err
	}
	out, err := s.store.ListSecrets(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return out, nil
}

// CreateSecret stores a new secret; api.ErrExists when present.
func (s *Service) CreateSecret(ctx context.Context, sec api.Secret) error {
	ns, err := s.secretTarget(ctx, sec.Namespace, sec.Name)
	if err != nil {
		return err
	}
	if err := s.store.CreateSecret(ctx, ns, sec.Name, sec.Bytes()); err != nil {
		return fmt.Errorf("create secret: %w", err)
	}
	return nil
}

// UpdateSecret replaces a secret's value; api.ErrNotFound when missing. Running
// functions see the new value after their next deploy or update.
func (s *Service) UpdateSecret(ctx context.Context, sec api.Secret) error {
	ns, err := s.secretTarget(ctx, sec.Namespace, sec.Name)
	if err != nil {
		return err
	}
	if err := s.store.UpdateSecret(ctx, ns, sec.Name, sec.Bytes()); err != nil {
		return fmt.Errorf("update secret: %w", err)
	}
	return nil
}

// DeleteSecret removes a secret; api.ErrNotFound when missing.
func (s *Service) DeleteSecret(ctx context.Context, namespace, name string) error {
	ns, err := s.secretTarget(ctx, namespace, name)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSecret(ctx, ns, name); err != nil {
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

// secretTarget validates the name and resolves and checks the namespace.
func (s *Service) secretTarget(ctx context.Context, namespace, name string) (string, error) {
	if err := api.ValidateSecretName(name); err != nil {
		return "", err
	}
	ns := orDefault(namespace)
	return ns, s.checkNamespace(ctx, ns)
}
