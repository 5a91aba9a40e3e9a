package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/fjord-faas/fjord/internal/api"
)

func namespaceNotFound(name string) error {
	return fmt.Errorf("namespace %s: %w", name, api.ErrNotFound)
}

// CreateNamespace stores a new namespace; api.ErrExists when present.
func (s *Store) CreateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNamespaces)
		if b.Get([]byte(ns.Name)) != nil {
			return fmt.Errorf("namespace %s: %w", ns.Name, api.ErrExists)
		}
		return putJSON(b, []byte(ns.Name), ns)
	})
}

// UpdateNamespace replaces a namespace's labels and annotations; api.ErrNotFound when missing.
func (s *Store) UpdateNamespace(ctx context.Context, ns api.FunctionNamespace) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNamespaces)
		if b.Get([]byte(ns.Name)) == nil {
			return namespaceNotFound(ns.Name)
		}
		return putJSON(b, []byte(ns.Name), ns)
	})
}

// GetNamespace returns a namespace; api.ErrNotFound when missing.
func (s *Store) GetNamespace(ctx context.Context, name string) (api.FunctionNamespace, error) {
	var ns api.FunctionNamespace
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketNamespaces), []byte(name), &ns)
		if err == nil && !ok {
			err = namespaceNotFound(name)
		}
		return err
	})
	return ns, err
}

// ListNamespaces returns every namespace, including the default, sorted by name.
func (s *Store) ListNamespaces(ctx context.Context) ([]api.FunctionNamespace, error) {
	var out []api.FunctionNamespace
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNamespaces).ForEach(func(k, v []byte) error {
			var ns api.FunctionNamespace
			if err := jsonUnmarshal(k, v, &ns); err != nil {
				return err
			}
			out = append(out, ns)
			return nil
		})
	})
	return out, err
}

// DeleteNamespace removes a namespace and its secrets. It fails with
// api.ErrNotFound when missing and api.ErrInvalid for the default namespace or
// one that still holds functions; the check and the delete are one transaction.
func (s *Store) DeleteNamespace(ctx context.Context, name string) error {
	if name == api.DefaultNamespace {
		return fmt.Errorf("%w: namespace %s cannot be deleted", api.ErrInvalid, name)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNamespaces)
		if b.Get([]byte(name)) == nil {
			return namespaceNotFound(name)
		}
		p := prefix(name)
		if k, _ := tx.Bucket(bucketFunctions).Cursor().Seek(p); k != nil && bytes.HasPrefix(k, p) {
			return fmt.Errorf("%w: namespace %s still holds functions; remove them first", api.ErrInvalid, name)
		}
		if err := deletePrefix(tx.Bucket(bucketSecrets), p); err != nil {
			return err
		}
		return b.Delete([]byte(name))
	})
}

func deletePrefix(b *bolt.Bucket, p []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
