package build

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/registry"
	"github.com/fjord-faas/fjord/internal/testenv"
)

// unpackTo writes the image's files under dir and returns dir/home/app.
func unpackTo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o755)
	}
	return filepath.Join(dir, "home", "app")
}

func TestPython3ClassicRuns(t *testing.T) {
	// Debian's interpreter starts faster than a pyenv shim.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			testenv.Need(t, false, "python3 not found")
		}
	}
	dir := newHandler(t, "python3")
	os.WriteFile(filepath.Join(dir, "requirements.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "handler.py"), []byte(`def handle(req):
    if req == "boom":
        raise ValueError("boom")
    if isinstance(req, bytes):
        return b"bytes:" + req
    return "str:" + req
`), 0o644)
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "python3", Handler: dir})
	if err != nil {
		t.Fatal(err)
	}
	app := unpackTo(t, layerFiles(t, img))
	tests := []struct {
		name, in, env, want string
		wantErr             bool
	}{
		{name: "text", in: "hi", want: "str:hi\n"},
		{name: "invalid utf-8", in: "\xff", want: "bytes:\xff"},
		{name: "raw body", in: "hi", env: "RAW_BODY=true", want: "bytes:hi"},
		{name: "exception", in: "boom", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(py, "index.py")
			cmd.Dir = app
			cmd.Env = append(os.Environ(), tc.env)
			cmd.Stdin = strings.NewReader(tc.in)
			var out bytes.Buffer
			cmd.Stdout = &out
			err := cmd.Run()
			if tc.wantErr != (err != nil) || (!tc.wantErr && out.String() != tc.want) {
				t.Fatalf("out %q err %v", out.String(), err)
			}
		})
	}
}

func TestPushToRegistry(t *testing.T) {
	reg, err := registry.New(registry.Config{Dir: t.TempDir(), Authorize: func(u, p string) bool { return u == "admin" && p == "pw" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "bash", Handler: newHandler(t, "bash")})
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/fn:latest"
	var last int64
	digest, err := Push(context.Background(), img, PushOptions{Image: ref, Username: "admin", Password: "pw",
		Progress: func(written, total int64) { last = written }})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if digest != want.String() || last == 0 {
		t.Fatalf("digest %s (want %s), progress %d", digest, want, last)
	}
	// A new tag, so the push cannot be skipped as already present.
	other := strings.TrimSuffix(ref, ":latest") + ":other"
	if _, err := Push(context.Background(), img, PushOptions{Image: other, Username: "admin", Password: "bad"}); err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
}
