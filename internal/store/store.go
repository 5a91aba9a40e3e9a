// Package store persists fjord's desired state (functions, namespaces and
// encrypted secrets) in a single bbolt file. Every write is an fsync'd bbolt
// transaction, so the state survives a crash or kill -9 of the daemon.
package store

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fjord-faas/fjord/internal/api"
)

// Bucket names; keys are "namespace/name" (namespaces: the bare name).
var (
	bucketFunctions  = []byte("functions")
	bucketNamespaces = []byte("namespaces")
	bucketSecrets    = []byte("secrets")
)

// KeyFileName is the default name of the secrets key, next to the state file.
const KeyFileName = "secrets.key"

// DefaultLockTimeout is how long Open waits for another daemon to release the file.
const DefaultLockTimeout = time.Second

// Options configure Open.
type Options struct {
	// KeyPath is the 32-byte AES-256 key file that encrypts secrets at rest. It is
	// generated (mode 0600) when missing. Empty means <dir of the state file>/secrets.key.
	KeyPath string
	// LockTimeout bounds the wait for the file lock; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
}

// DefaultOptions returns the options Open uses when given zero values.
func DefaultOptions() Options { return Options{LockTimeout: DefaultLockTimeout} }

// Validate checks the options.
func (o Options) Validate() error {
	if o.LockTimeout < 0 {
		return fmt.Errorf("%w: lock timeout %s is negative", api.ErrInvalid, o.LockTimeout)
	}
	return nil
}

// Store is the bbolt-backed state. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	aead cipher.AEAD
	path string
}

// Open opens (creating if needed) the state file at path and the secrets key.
// The default namespace is created on first open.
func Open(path string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.KeyPath == "" {
		opts.KeyPath = filepath.Join(filepath.Dir(path), KeyFileName)
	}
	aead, err := loadKey(opts.KeyPath)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state file %s is in use by another fjord daemon", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	s := &Store{db: db, aead: aead, path: path}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketFunctions, bucketNamespaces, bucketSecrets} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		ns := tx.Bucket(bucketNamespaces)
		if ns.Get([]byte(api.DefaultNamespace)) != nil {
			return nil
		}
		def := api.FunctionNamespace{
			Name:   api.DefaultNamespace,
			Labels: map[string]string{"openfaas": "1"},
		}
		return putJSON(ns, []byte(def.Name), def)
	})
	if err != nil {
		return fmt.Errorf("initialise state file %s: %w", s.path, err)
	}
	return nil
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func key(namespace, name string) []byte { return []byte(namespace + "/" + name) }

func prefix(namespace string) []byte { return []byte(namespace + "/") }

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k, err)
	}
	return b.Put(k, data)
}

func getJSON(b *bolt.Bucket, k []byte, v any) (bool, error) {
	data := b.Get(k)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", k, err)
	}
	return true, nil
}

// namespaceExists reports whether a namespace record exists, inside tx.
func namespaceExists(tx *bolt.Tx, namespace string) bool {
	return tx.Bucket(bucketNamespaces).Get([]byte(namespace)) != nil
}

func unknownNamespace(namespace string) error {
	return fmt.Errorf("%w: %s", api.ErrUnknownNamespace, namespace)
}

func jsonUnmarshal(k, v []byte, out any) error {
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("decode %s: %w", k, err)
	}
	return nil
}
