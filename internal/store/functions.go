package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fjord-faas/fjord/internal/api"
)

// FunctionRecord is a function's desired state.
type FunctionRecord struct {
	// Deployment is the deployment as accepted (validated, namespace filled in,
	// faas_function label added), echoed back by the status calls.
	Deployment api.FunctionDeployment `json:"deployment"`
	// Replicas is the desired replica count.
	Replicas int `json:"replicas"`
	// Revision grows on every deploy or update.
	Revision  uint64    `json:"revision"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (r *FunctionRecord) key() []byte { return key(r.Deployment.Namespace, r.Deployment.Service) }

func functionNotFound(namespace, name string) error {
	return fmt.Errorf("function %s in namespace %s: %w", name, namespace, api.ErrNotFound)
}

// CreateFunction stores a new function. It fails with api.ErrExists when the
// function exists and api.ErrUnknownNamespace when its namespace does not.
func (s *Store) CreateFunction(ctx context.Context, rec FunctionRecord) error {
	ns, name := rec.Deployment.Namespace, rec.Deployment.Service
	return s.update(ctx, func(tx *bolt.Tx) error {
		if !namespaceExists(tx, ns) {
			return unknownNamespace(ns)
		}
		b := tx.Bucket(bucketFunctions)
		if b.Get(rec.key()) != nil {
			return fmt.Errorf("function %s in namespace %s: %w", name, ns, api.ErrExists)
		}
		return putJSON(b, rec.key(), rec)
	})
}

// PutFunction stores a function unconditionally (create or replace).
func (s *Store) PutFunction(ctx context.Context, rec FunctionRecord) error {
	ns := rec.Deployment.Namespace
	return s.update(ctx, func(tx *bolt.Tx) error {
		if !namespaceExists(tx, ns) {
			return unknownNamespace(ns)
		}
		return putJSON(tx.Bucket(bucketFunctions), rec.key(), rec)
	})
}

// UpdateFunction applies fn to a stored function atomically and returns the
// stored result; api.ErrNotFound when missing. An error from fn aborts the change.
func (s *Store) UpdateFunction(ctx context.Context, namespace, name string, fn func(*FunctionRecord) error) (FunctionRecord, error) {
	var rec FunctionRecord
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFunctions)
		ok, err := getJSON(b, key(namespace, name), &rec)
		if err != nil {
			return err
		}
		if !ok {
			return functionNotFound(namespace, name)
		}
		if err := fn(&rec); err != nil {
			return err
		}
		rec.Deployment.Namespace, rec.Deployment.Service = namespace, name
		return putJSON(b, key(namespace, name), rec)
	})
	return rec, err
}

// GetFunction returns a stored function; api.ErrNotFound when missing.
func (s *Store) GetFunction(ctx context.Context, namespace, name string) (FunctionRecord, error) {
	var rec FunctionRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bucketFunctions), key(namespace, name), &rec)
		if err == nil && !ok {
			err = functionNotFound(namespace, name)
		}
		return err
	})
	return rec, err
}

// ListFunctions returns the functions of a namespace, or of all namespaces when
// namespace is empty, ordered by namespace then name.
func (s *Store) ListFunctions(ctx context.Context, namespace string) ([]FunctionRecord, error) {
	var out []FunctionRecord
	var p []byte
	if namespace != "" {
		p = prefix(namespace)
	}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFunctions).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var rec FunctionRecord
			if err := jsonUnmarshal(k, v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// DeleteFunction removes a function; api.ErrNotFound when missing.
func (s *Store) DeleteFunction(ctx context.Context, namespace, name string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFunctions)
		if b.Get(key(namespace, name)) == nil {
			return functionNotFound(namespace, name)
		}
		return b.Delete(key(namespace, name))
	})
}
