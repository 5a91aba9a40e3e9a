package registry

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// maxManifestBytes bounds a manifest body; real manifests are a few KiB.
const maxManifestBytes = 4 << 20

// Registry is the embedded OCI registry. It is an http.Handler meant to be
// mounted at /v2/ of the daemon's listener.
type Registry struct {
	cfg       Config
	log       *slog.Logger
	handler   http.Handler
	manifests *manifestStore
}

// New creates the data directories, builds the handler and replays the
// manifests persisted by earlier runs.
func New(cfg Config) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "registry")
	blobDir := filepath.Join(cfg.Dir, "blobs")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("create blob dir: %w", err)
	}
	ms, err := newManifestStore(filepath.Join(cfg.Dir, "manifests"))
	if err != nil {
		return nil, err
	}
	h := ggcr.New(
		ggcr.WithBlobHandler(ggcr.NewDiskBlobHandler(blobDir)),
		ggcr.Logger(slog.NewLogLogger(logger.Handler(), slog.LevelDebug)),
	)
	r := &Registry{cfg: cfg, log: logger, handler: h, manifests: ms}
	n, err := ms.replay(h)
	if err != nil {
		return nil, err
	}
	logger.Debug("manifests restored", "count", n)
	return r, nil
}

// ServeHTTP serves the Distribution API. Writes need Basic auth when
// Config.Authorize is set; reads are open.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.allowed(req) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fjord"`)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	if req.Method == http.MethodPut && isManifestPath(req.URL.Path) {
		r.putManifest(w, req)
		return
	}
	if req.Method == http.MethodDelete && isManifestPath(req.URL.Path) {
		r.deleteManifest(w, req)
		return
	}
	r.handler.ServeHTTP(w, req)
}

// allowed applies the auth policy. The version check GET /v2/ is open, but
// credentials sent with it are checked so that a login with a wrong password
// fails early.
func (r *Registry) allowed(req *http.Request) bool {
	if r.cfg.Authorize == nil {
		return true
	}
	user, pass, hasAuth := req.BasicAuth()
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		p := strings.TrimSuffix(req.URL.Path, "/")
		if p == "/v2" && hasAuth {
			return r.cfg.Authorize(user, pass)
		}
		return true
	}
	return hasAuth && r.cfg.Authorize(user, pass)
}

// putManifest runs the PUT against a buffer so that a manifest is on disk
// before the client is told it was accepted.
func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxManifestBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "read manifest: "+err.Error())
		return
	}
	if len(body) > maxManifestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "MANIFEST_INVALID", "manifest too large")
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusCreated {
		repo, target := splitManifestPath(req.URL.Path)
		if err := r.manifests.save(repo, target, req.Header.Get("Content-Type"), body); err != nil {
			r.log.Error("persist manifest failed", "repo", repo, "target", target, "err", err)
			writeError(w, http.StatusInternalServerError, "UNKNOWN", "persist manifest: "+err.Error())
			return
		}
		r.log.Info("manifest pushed", "repo", repo, "target", target,
			"digest", rec.Header().Get("Docker-Content-Digest"))
	}
	copyRecorded(w, rec)
}

// deleteManifest forgets the persisted reference once the handler deleted it.
func (r *Registry) deleteManifest(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusAccepted {
		repo, target := splitManifestPath(req.URL.Path)
		if err := r.manifests.remove(repo, target); err != nil {
			r.log.Error("forget manifest failed", "repo", repo, "target", target, "err", err)
		}
	}
	copyRecorded(w, rec)
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// isManifestPath matches /v2/<repo>/manifests/<target>.
func isManifestPath(p string) bool {
	elem := strings.Split(p, "/")
	return len(elem) >= 5 && elem[1] == "v2" && elem[len(elem)-2] == "manifests"
}

func splitManifestPath(p string) (repo, target string) {
	elem := strings.Split(p, "/")
	return strings.Join(elem[2:len(elem)-2], "/"), elem[len(elem)-1]
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}
