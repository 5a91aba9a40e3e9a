package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// localRegistryHost names the embedded registry inside references; requests
// to it go through StoreConfig.Local, which ignores the host.
const localRegistryHost = "fjord.embedded"

// pullTimeout bounds one shared pull and unpack.
const pullTimeout = 15 * time.Minute

// StoreConfig configures a Store.
type StoreConfig struct {
	// CacheDir holds one unpacked tree per digest: CacheDir/<hex>/rootfs.
	CacheDir string
	// Local reaches the embedded registry in-process (registry.Transport()).
	// Nil means host-less references cannot be resolved.
	Local http.RoundTripper
	// LocalHosts are host names (with port) that mean the embedded registry,
	// e.g. the gateway's "127.0.0.1:8080". Host-less references always do.
	LocalHosts []string
	// Logger receives pull logs; nil discards them.
	Logger *slog.Logger
}

// Validate reports whether the config can be used.
func (c StoreConfig) Validate() error {
	if c.CacheDir == "" {
		return errors.New("image store: CacheDir is required")
	}
	return nil
}

// Store resolves references against registries and unpacks images into a
// per-digest cache. It implements Provider.
type Store struct {
	cfg    StoreConfig
	log    *slog.Logger
	flight singleflight.Group
}

var _ Provider = (*Store)(nil)

// NewStore returns a Store; it touches nothing on disk until Prepare.
func NewStore(cfg StoreConfig) *Store {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{cfg: cfg, log: logger.With("component", "image")}
}

// source is a resolved place to pull an image from.
type source struct {
	ref   name.Reference
	local bool
	opts  []remote.Option
}

// Prepare resolves ref to a digest (tags are re-resolved on every call), pulls
// and unpacks the image unless that digest is cached, and returns its bundle.
// Concurrent calls for one digest share a single pull, which is not cut short
// when one of the callers gives up.
func (s *Store) Prepare(ctx context.Context, ref string) (Bundle, error) {
	if err := s.cfg.Validate(); err != nil {
		return Bundle{}, imageErr(err, "prepare image %q", ref)
	}
	src, err := s.source(ref)
	if err != nil {
		return Bundle{}, err
	}
	digest, err := s.resolve(ctx, src, ref)
	if err != nil {
		return Bundle{}, err
	}
	if b, err := s.cached(digest); err == nil {
		return b, nil
	}
	ch := s.flight.DoChan(digest.String(), func() (any, error) {
		if b, err := s.cached(digest); err == nil {
			return b, nil
		}
		pullCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pullTimeout)
		defer cancel()
		return s.pull(pullCtx, src, ref, digest)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Bundle{}, res.Err
		}
		return res.Val.(Bundle), nil
	case <-ctx.Done():
		return Bundle{}, imageErr(ctx.Err(), "prepare image %q", ref)
	}
}

func (s *Store) source(ref string) (source, error) {
	host, repo, tag, err := SplitRef(ref)
	if err != nil {
		return source{}, imageErr(err, "invalid image reference %q", ref)
	}
	platform := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	opts := []remote.Option{remote.WithPlatform(platform)}
	local := host == "" || slices.Contains(s.cfg.LocalHosts, host)
	var nameOpts []name.Option
	full := ref
	if local {
		if s.cfg.Local == nil {
			return source{}, imageErr(nil, "image %q names the embedded registry, which is not available", ref)
		}
		sep := ":"
		if strings.HasPrefix(tag, "sha256:") {
			sep = "@"
		}
		full = localRegistryHost + "/" + repo + sep + tag
		opts = append(opts, remote.WithTransport(s.cfg.Local))
	} else {
		if strings.HasPrefix(host, "127.") || host == "localhost" || strings.HasPrefix(host, "localhost:") {
			nameOpts = append(nameOpts, name.Insecure)
		}
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	r, err := name.ParseReference(full, nameOpts...)
	if err != nil {
		return source{}, imageErr(err, "invalid image reference %q", ref)
	}
	return source{ref: r, local: local, opts: opts}, nil
}

// resolve returns the digest that ref names right now.
func (s *Store) resolve(ctx context.Context, src source, ref string) (v1.Hash, error) {
	if d, ok := src.ref.(name.Digest); ok {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return v1.Hash{}, imageErr(err, "invalid digest in %q", ref)
		}
		return h, nil
	}
	desc, err := remote.Head(src.ref, append(src.opts, remote.WithContext(ctx))...)
	if err != nil {
		return v1.Hash{}, pullErr(err, src, ref)
	}
	return desc.Digest, nil
}

// cached returns the bundle of an already unpacked digest.
func (s *Store) cached(digest v1.Hash) (Bundle, error) {
	dir := filepath.Join(s.cfg.CacheDir, digest.Hex)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Bundle{}, err
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return Bundle{}, fmt.Errorf("decode cached config: %w", err)
	}
	return bundleFrom(digest, filepath.Join(dir, "rootfs"), &cf), nil
}

func (s *Store) pull(ctx context.Context, src source, ref string, digest v1.Hash) (Bundle, error) {
	byDigest := src.ref.Context().Digest(digest.String())
	img, err := remote.Image(byDigest, append(src.opts, remote.WithContext(ctx))...)
	if err != nil {
		return Bundle{}, pullErr(err, src, ref)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Bundle{}, pullErr(err, src, ref)
	}
	s.log.Info("unpacking image", "ref", ref, "digest", digest.String())
	dir := filepath.Join(s.cfg.CacheDir, digest.Hex)
	if err := unpackImage(ctx, img, cf, s.cfg.CacheDir, dir); err != nil {
		return Bundle{}, imageErr(err, "unpack image %q", ref)
	}
	return bundleFrom(digest, filepath.Join(dir, "rootfs"), cf), nil
}

func bundleFrom(digest v1.Hash, rootfs string, cf *v1.ConfigFile) Bundle {
	c := cf.Config
	return Bundle{
		Digest:      digest.String(),
		RootFS:      rootfs,
		Env:         c.Env,
		WorkingDir:  c.WorkingDir,
		Entrypoint:  c.Entrypoint,
		Cmd:         c.Cmd,
		Labels:      c.Labels,
		User:        c.User,
		HostRuntime: c.Labels[LabelHostRuntime] == "true",
	}
}

// imageError carries a message for people and unwraps to runtime.ErrImage.
type imageError struct {
	msg   string
	cause error
}

func (e *imageError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *imageError) Unwrap() []error { return []error{runtime.ErrImage, e.cause} }

func imageErr(cause error, format string, args ...any) error {
	return &imageError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// pullErr turns registry errors into messages that say what to do.
func pullErr(err error, src source, ref string) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			if src.local {
				return imageErr(nil, "image %q not found in the embedded registry; push it with fjord push or fjord up", ref)
			}
			return imageErr(nil, "image %q not found in registry %s", ref, src.ref.Context().RegistryStr())
		case http.StatusUnauthorized, http.StatusForbidden:
			return imageErr(nil, "pull image %q: access denied by registry %s; log in with docker login", ref, src.ref.Context().RegistryStr())
		}
	}
	return imageErr(err, "pull image %q", ref)
}
