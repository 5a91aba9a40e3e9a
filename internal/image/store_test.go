package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fjord-faas/fjord/internal/build"
	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/registry"
	"github.com/fjord-faas/fjord/internal/runtime"
)

type fixture struct {
	reg   *registry.Registry
	host  string // host:port of the registry over HTTP
	store *image.Store
	cache string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	reg, err := registry.New(registry.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	cache := t.TempDir()
	store := image.NewStore(image.StoreConfig{CacheDir: cache, Local: reg.Transport(), LocalHosts: []string{"gateway.test:8080"}})
	return fixture{reg: reg, host: host, store: store, cache: cache}
}

func (f fixture) push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(f.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func buildBash(t *testing.T, script string) v1.Image {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fn")
	if err := build.NewFunction("bash", "fn", dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "handler.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := build.Build(context.Background(), build.Options{Name: "fn", Lang: "bash", Handler: dir})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPrepareBuiltImage(t *testing.T) {
	f := newFixture(t)
	f.push(t, "hello:latest", buildBash(t, "echo one\n"))
	for _, ref := range []string{"hello", "hello:latest", "gateway.test:8080/hello:latest"} {
		t.Run(ref, func(t *testing.T) {
			b, err := f.store.Prepare(context.Background(), ref)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(b.RootFS, "home/app/function/handler.sh"))
			if err != nil || string(got) != "echo one\n" {
				t.Fatalf("handler = %q, %v", got, err)
			}
			if !b.HostRuntime || b.WorkingDir != "/home/app" || !slices.Contains(b.Env, "fprocess=bash handler.sh") ||
				!slices.Equal(b.Cmd, []string{"fwatchdog"}) || !strings.HasPrefix(b.Digest, "sha256:") {
				t.Fatalf("bundle = %+v", b)
			}
		})
	}
}

func TestPrepareSeesRepush(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.push(t, "hello:latest", buildBash(t, "echo one\n"))
	first, err := f.store.Prepare(ctx, "hello:latest")
	if err != nil {
		t.Fatal(err)
	}
	f.push(t, "hello:latest", buildBash(t, "echo two\n"))
	second, err := f.store.Prepare(ctx, "hello:latest")
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest == second.Digest || first.RootFS == second.RootFS {
		t.Fatalf("re-push not picked up: %s", second.Digest)
	}
	got, _ := os.ReadFile(filepath.Join(second.RootFS, "home/app/function/handler.sh"))
	if string(got) != "echo two\n" {
		t.Fatalf("handler = %q", got)
	}
	byDigest, err := f.store.Prepare(ctx, "hello@"+first.Digest)
	if err != nil || byDigest.RootFS != first.RootFS {
		t.Fatalf("by digest: %+v, %v", byDigest, err)
	}
}

func TestPrepareConcurrent(t *testing.T) {
	f := newFixture(t)
	f.push(t, "hello:latest", buildBash(t, "echo one\n"))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.store.Prepare(context.Background(), "hello")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(f.cache)
	if len(entries) != 1 {
		t.Fatalf("cache has %d entries, want 1", len(entries))
	}
}

func TestPrepareErrors(t *testing.T) {
	f := newFixture(t)
	noLocal := image.NewStore(image.StoreConfig{CacheDir: t.TempDir()})
	tests := []struct {
		name  string
		store *image.Store
		ref   string
		want  string
	}{
		{"missing local", f.store, "nope:latest", `image "nope:latest" not found in the embedded registry; push it with fjord push or fjord up`},
		{"missing remote", f.store, f.host + "/nope:v1", "not found in registry"},
		{"bad ref", f.store, "Bad:Ref", "invalid image reference"},
		{"no embedded registry", noLocal, "hello", "embedded registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.store.Prepare(context.Background(), tc.ref)
			if !errors.Is(err, runtime.ErrImage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrImage with %q", err, tc.want)
			}
		})
	}
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func layer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ == tar.TypeDir {
			hdr.Mode, hdr.Size = 0o755, 0
		}
		if typ == tar.TypeSymlink || typ == tar.TypeLink {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			io.WriteString(tw, e.body)
		}
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPrepareLayers(t *testing.T) {
	f := newFixture(t)
	lower := layer(t,
		tarEntry{name: "app/", typ: tar.TypeDir},
		tarEntry{name: "app/keep", body: "keep"},
		tarEntry{name: "app/gone", body: "gone"},
		tarEntry{name: "opaque/", typ: tar.TypeDir},
		tarEntry{name: "opaque/old", body: "old"},
	)
	upper := layer(t,
		tarEntry{name: "app/.wh.gone"},
		tarEntry{name: "opaque/.wh..wh..opq"},
		tarEntry{name: "opaque/new", body: "new"},
		tarEntry{name: "app/link", typ: tar.TypeSymlink, link: "keep"},
		tarEntry{name: "app/hard", typ: tar.TypeLink, link: "app/keep"},
	)
	img, err := mutate.AppendLayers(empty.Image, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	f.push(t, "layers:latest", img)
	b, err := f.store.Prepare(context.Background(), "layers")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"app/keep": "keep", "app/link": "keep", "app/hard": "keep", "opaque/new": "new"} {
		if got, err := os.ReadFile(filepath.Join(b.RootFS, p)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"app/gone", "opaque/old", "app/.wh.gone"} {
		if _, err := os.Lstat(filepath.Join(b.RootFS, p)); err == nil {
			t.Errorf("%s should not exist", p)
		}
	}
	if b.HostRuntime {
		t.Errorf("HostRuntime without the label")
	}
}

func TestPrepareRefusesEscape(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
	}{
		{"dotdot", []tarEntry{{name: "../evil", body: "x"}}},
		{"through symlink", []tarEntry{{name: "out", typ: tar.TypeSymlink, link: "/tmp"}, {name: "out/evil", body: "x"}}},
		{"hardlink out", []tarEntry{{name: "evil", typ: tar.TypeLink, link: "../../etc/passwd"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			img, err := mutate.AppendLayers(empty.Image, layer(t, tc.entries...))
			if err != nil {
				t.Fatal(err)
			}
			f.push(t, "evil:latest", img)
			// The flattener drops some unsafe entries itself and untar
			// refuses the rest: either way nothing lands outside the root.
			b, err := f.store.Prepare(context.Background(), "evil")
			if err != nil && !errors.Is(err, runtime.ErrImage) {
				t.Fatalf("err = %v, want ErrImage", err)
			}
			if _, err := os.Stat("/tmp/evil"); err == nil {
				t.Fatal("/tmp/evil was written")
			}
			if err == nil {
				if _, err := os.Stat(filepath.Join(b.RootFS, "evil")); err == nil {
					t.Fatal("escaping hard link was created")
				}
			}
		})
	}
}
