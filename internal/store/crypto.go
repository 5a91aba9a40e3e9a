package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const keySize = 32 // AES-256

// loadKey reads the key file, generating it (mode 0600) on first use.
func loadKey(path string) (cipher.AEAD, error) {
	k, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = generateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("load secrets key %s: %w", path, err)
	}
	if len(k) != keySize {
		return nil, fmt.Errorf("load secrets key %s: want %d bytes, file has %d", path, keySize, len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("load secrets key %s: %w", path, err)
	}
	return cipher.NewGCM(block)
}

// generateKey writes a fresh random key; O_EXCL keeps two daemons racing on a
// fresh directory from each writing a different key.
func generateKey(path string) ([]byte, error) {
	k := make([]byte, keySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(k); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return k, f.Close()
}

// seal encrypts plain as nonce||ciphertext; the record key is bound as
// additional data so that a value cannot be moved to another secret's key.
func (s *Store) seal(recordKey, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, recordKey), nil
}

// open decrypts what seal produced.
func (s *Store) open(recordKey, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("decrypt secret %s: value too short", recordKey)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], recordKey)
	if err != nil {
		return nil, fmt.Errorf("decrypt secret %s (wrong secrets key?): %w", recordKey, err)
	}
	return plain, nil
}
