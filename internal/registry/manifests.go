package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestStore mirrors manifest PUTs to disk: the raw bytes under blobs/<hex>
// and one record per (repo, target) under refs/.
type manifestStore struct {
	dir string
	mu  sync.Mutex
}

// manifestRef is the on-disk record of one pushed reference.
type manifestRef struct {
	Repo        string `json:"repo"`
	Target      string `json:"target"`
	Digest      string `json:"digest"`
	ContentType string `json:"contentType"`
}

func newManifestStore(dir string) (*manifestStore, error) {
	for _, d := range []string{filepath.Join(dir, "blobs"), filepath.Join(dir, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create manifest dir: %w", err)
		}
	}
	return &manifestStore{dir: dir}, nil
}

func refKey(repo, target string) string {
	sum := sha256.Sum256([]byte(repo + "\x00" + target))
	return hex.EncodeToString(sum[:]) + ".json"
}

func (s *manifestStore) save(repo, target, contentType string, body []byte) error {
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	rec, err := json.Marshal(manifestRef{Repo: repo, Target: target, Digest: "sha256:" + hexSum, ContentType: contentType})
	if err != nil {
		return fmt.Errorf("encode manifest record: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeAtomic(filepath.Join(s.dir, "blobs", hexSum), body); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.dir, "refs", refKey(repo, target)), rec)
}

func (s *manifestStore) remove(repo, target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := os.Remove(filepath.Join(s.dir, "refs", refKey(repo, target)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// replay PUTs every persisted manifest into h. Image manifests go first, then
// indexes, in passes, because an index PUT needs its children present.
func (s *manifestStore) replay(h http.Handler) (int, error) {
	refs, err := s.load()
	if err != nil {
		return 0, err
	}
	done := 0
	for pass := 0; len(refs) > 0; pass++ {
		var retry []manifestRef
		for _, ref := range refs {
			if pass == 0 && types.MediaType(ref.ContentType).IsIndex() {
				retry = append(retry, ref)
				continue
			}
			ok, err := s.put(h, ref)
			if err != nil {
				return done, err
			}
			if !ok {
				retry = append(retry, ref)
				continue
			}
			done++
		}
		if len(retry) == len(refs) && pass > 0 {
			return done, fmt.Errorf("restore manifests: %d could not be replayed (first %s:%s)", len(retry), retry[0].Repo, retry[0].Target)
		}
		refs = retry
	}
	return done, nil
}

func (s *manifestStore) load() ([]manifestRef, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "refs"))
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	var refs []manifestRef
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, "refs", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read manifest record: %w", err)
		}
		var ref manifestRef
		if err := json.Unmarshal(b, &ref); err != nil {
			return nil, fmt.Errorf("decode manifest record %s: %w", e.Name(), err)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func (s *manifestStore) put(h http.Handler, ref manifestRef) (bool, error) {
	hexSum := ref.Digest[len("sha256:"):]
	body, err := os.ReadFile(filepath.Join(s.dir, "blobs", hexSum))
	if err != nil {
		return false, fmt.Errorf("read manifest %s: %w", ref.Digest, err)
	}
	req := httptest.NewRequest(http.MethodPut, "/v2/"+ref.Repo+"/manifests/"+ref.Target, bytes.NewReader(body))
	req.Header.Set("Content-Type", ref.ContentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code == http.StatusCreated, nil
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return nil
}
