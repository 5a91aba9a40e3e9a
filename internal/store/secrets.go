package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/fjord-faas/fjord/internal/api"
)

func secretNotFound(namespace, name string) error {
	return fmt.Errorf("secret %s in namespace %s: %w", name, namespace, api.ErrNotFound)
}

// CreateSecret stores a new secret, encrypted; api.ErrExists when present and
// api.ErrUnknownNamespace when the namespace does not exist.
func (s *Store) CreateSecret(ctx context.Context, namespace, name string, value []byte) error {
	return s.putSecret(ctx, namespace, name, value, false)
}

// UpdateSecret replaces a secret's value; api.ErrNotFound when missing.
func (s *Store) UpdateSecret(ctx context.Context, namespace, name string, value []byte) error {
	return s.putSecret(ctx, namespace, name, value, true)
}

func (s *Store) putSecret(ctx context.Context, namespace, name string, value []byte, replace bool) error {
	k := key(namespace, name)
	sealed, err := s.seal(k, value)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if !namespaceExists(tx, namespace) {
			return unknownNamespace(namespace)
		}
		b := tx.Bucket(bucketSecrets)
		exists := b.Get(k) != nil
		switch {
		case replace && !exists:
			return secretNotFound(namespace, name)
		case !replace && exists:
			return fmt.Errorf("secret %s in namespace %s: %w", name, namespace, api.ErrExists)
		}
		return b.Put(k, sealed)
	})
}

// GetSecret returns a secret's decrypted value; api.ErrNotFound when missing.
func (s *Store) GetSecret(ctx context.Context, namespace, name string) ([]byte, error) {
	k := key(namespace, name)
	var sealed []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSecrets).Get(k)
		if v == nil {
			return secretNotFound(namespace, name)
		}
		sealed = bytes.Clone(v) // bbolt memory is valid only inside the transaction
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.open(k, sealed)
}

// ListSecrets returns the names (never values) of a namespace's secrets, sorted.
func (s *Store) ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error) {
	out := []api.Secret{}
	p := prefix(namespace)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSecrets).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			out = append(out, api.Secret{Name: string(k[len(p):]), Namespace: namespace})
		}
		return nil
	})
	return out, err
}

// DeleteSecret removes a secret; api.ErrNotFound when missing.
func (s *Store) DeleteSecret(ctx context.Context, namespace, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		if b.Get(key(namespace, name)) == nil {
			return secretNotFound(namespace, name)
		}
		return b.Delete(key(namespace, name))
	})
}
