package registry

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func newTestRegistry(t *testing.T, dir string, auth func(u, p string) bool) (*Registry, string) {
	t.Helper()
	r, err := New(Config{Dir: dir, Authorize: auth})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, strings.TrimPrefix(srv.URL, "http://")
}

func ref(t *testing.T, host, repo string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPushAuth(t *testing.T) {
	authorize := func(u, p string) bool { return u == "admin" && p == "secret" }
	tests := []struct {
		name    string
		auth    func(u, p string) bool
		cred    authn.Authenticator
		wantErr int
	}{
		{"no auth configured", nil, authn.Anonymous, 0},
		{"good credentials", authorize, &authn.Basic{Username: "admin", Password: "secret"}, 0},
		{"wrong password", authorize, &authn.Basic{Username: "admin", Password: "nope"}, http.StatusUnauthorized},
		{"anonymous", authorize, authn.Anonymous, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, host := newTestRegistry(t, t.TempDir(), tc.auth)
			img := randomImage(t)
			err := remote.Write(ref(t, host, "hello:latest"), img, remote.WithAuth(tc.cred))
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				// Pulls are open.
				got, err := remote.Image(ref(t, host, "hello:latest"))
				if err != nil {
					t.Fatalf("pull: %v", err)
				}
				assertSameDigest(t, img, got)
				return
			}
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != tc.wantErr {
				t.Fatalf("push err = %v, want status %d", err, tc.wantErr)
			}
		})
	}
}

func TestUnauthorizedChallenge(t *testing.T) {
	_, host := newTestRegistry(t, t.TempDir(), func(string, string) bool { return false })
	resp, err := http.Post("http://"+host+"/v2/hello/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="fjord"` {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestRestartKeepsImages(t *testing.T) {
	dir := t.TempDir()
	_, host := newTestRegistry(t, dir, nil)
	img := randomImage(t)
	if err := remote.Write(ref(t, host, "team/hello:v1"), img); err != nil {
		t.Fatalf("push: %v", err)
	}
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, host, "multi:latest"), idx); err != nil {
		t.Fatalf("push index: %v", err)
	}

	// A second registry on the same directory serves what the first stored.
	r2, _ := newTestRegistry(t, dir, nil)
	opt := remote.WithTransport(r2.Transport())
	got, err := remote.Image(ref(t, "anything.local", "team/hello:v1"), opt)
	if err != nil {
		t.Fatalf("pull after restart: %v", err)
	}
	assertSameDigest(t, img, got)
	if _, err := got.ConfigFile(); err != nil {
		t.Fatalf("config after restart: %v", err)
	}
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer after restart: %v", err)
		}
		rc.Close()
	}
	gotIdx, err := remote.Index(ref(t, "anything.local", "multi:latest"), opt)
	if err != nil {
		t.Fatalf("pull index after restart: %v", err)
	}
	want, _ := idx.Digest()
	if d, _ := gotIdx.Digest(); d != want {
		t.Fatalf("index digest %s, want %s", d, want)
	}
}

func assertSameDigest(t *testing.T, want, got v1.Image) {
	t.Helper()
	wd, _ := want.Digest()
	gd, err := got.Digest()
	if err != nil || wd != gd {
		t.Fatalf("digest %s (%v), want %s", gd, err, wd)
	}
}
