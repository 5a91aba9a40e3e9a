package build

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/fjord-faas/fjord/internal/image"
)

// layerFiles lists the files of img with their contents.
func layerFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name] = string(b)
	}
}

func newHandler(t *testing.T, lang string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fn")
	if err := NewFunction(lang, "fn", dir, ""); err != nil {
		t.Fatalf("NewFunction: %v", err)
	}
	return dir
}

func TestBuildTemplates(t *testing.T) {
	tests := []struct {
		lang      string
		wantFiles []string
		wantEnv   []string
	}{
		{"python3", []string{"home/app/index.py", "home/app/function/handler.py"}, []string{"fprocess=python3 index.py"}},
		{"python3-http", []string{"home/app/index.py", "home/app/function/handler.py"}, []string{"mode=http", "upstream_url=http://127.0.0.1:5000"}},
		{"node", []string{"home/app/index.js", "home/app/function/handler.js"}, []string{"fprocess=node index.js", "upstream_url=http://127.0.0.1:3000"}},
		{"bash", []string{"home/app/handler.sh", "home/app/function/handler.sh"}, []string{"fprocess=bash handler.sh"}},
		{"go", []string{"home/app/handler", "home/app/function/handler.go"}, []string{"fprocess=./handler", "upstream_url=http://127.0.0.1:8082"}},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			if tc.lang == "go" && testing.Short() {
				t.Skip("compiles a Go program")
			}
			opts := Options{Name: "fn", Lang: tc.lang, Handler: newHandler(t, tc.lang), Image: "fn:latest"}
			img, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			files := layerFiles(t, img)
			for _, f := range tc.wantFiles {
				if _, ok := files[f]; !ok {
					t.Errorf("missing %s in layer", f)
				}
			}
			if _, ok := files["home/app/template.yml"]; ok {
				t.Errorf("template.yml should not be in the image")
			}
			cf, _ := img.ConfigFile()
			for _, e := range tc.wantEnv {
				if !slices.Contains(cf.Config.Env, e) {
					t.Errorf("env %v lacks %s", cf.Config.Env, e)
				}
			}
			if cf.Config.WorkingDir != "/home/app" || !slices.Equal(cf.Config.Cmd, []string{"fwatchdog"}) ||
				cf.Config.Labels[image.LabelHostRuntime] != "true" {
				t.Errorf("config = %+v", cf.Config)
			}
			// Same inputs, same digest.
			again, err := Build(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			d1, _ := img.Digest()
			d2, _ := again.Digest()
			if d1 != d2 {
				t.Errorf("build is not reproducible: %s vs %s", d1, d2)
			}
		})
	}
}

func TestBuildGoCompileError(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go program")
	}
	dir := newHandler(t, "go")
	bad := "package function\n\nfunc Handle( {\n"
	if err := os.WriteFile(filepath.Join(dir, "handler.go"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(context.Background(), Options{Name: "fn", Lang: "go", Handler: dir})
	if err == nil || !strings.Contains(err.Error(), "handler.go") {
		t.Fatalf("err = %v, want the compiler's message", err)
	}
}

func TestBuildHandlerAndCopy(t *testing.T) {
	work := t.TempDir()
	handler := filepath.Join(work, "fn")
	if err := NewFunction("bash", "fn", handler, ""); err != nil {
		t.Fatal(err)
	}
	common := filepath.Join(work, "common")
	os.MkdirAll(common, 0o755)
	os.WriteFile(filepath.Join(common, "lib.sh"), []byte("x=1\n"), 0o644)
	t.Chdir(work)
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "bash", Handler: "fn", Copy: []string{"common"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := layerFiles(t, img)["home/app/function/common/lib.sh"]; got != "x=1\n" {
		t.Fatalf("copied file = %q", got)
	}
}

func TestBuildErrors(t *testing.T) {
	handler := newHandler(t, "bash")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown template", Options{Name: "fn", Lang: "cobol", Handler: handler}, `template "cobol" not found`},
		{"missing handler", Options{Name: "fn", Lang: "bash", Handler: filepath.Join(handler, "nope")}, "handler folder"},
		{"unknown build option", Options{Name: "fn", Lang: "bash", Handler: handler, BuildOptions: []string{"dev"}}, `build option "dev"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTemplateDirWins(t *testing.T) {
	tdir := t.TempDir()
	custom := filepath.Join(tdir, "bash", "function")
	os.MkdirAll(custom, 0o755)
	os.WriteFile(filepath.Join(tdir, "bash", "template.yml"), []byte("language: bash\nfprocess: cat\n"), 0o644)
	os.WriteFile(filepath.Join(custom, "custom.txt"), []byte("mine"), 0o644)
	os.MkdirAll(filepath.Join(tdir, "mylang", "function"), 0o755)
	os.WriteFile(filepath.Join(tdir, "mylang", "template.yml"), []byte("language: mylang\nfprocess: cat\n"), 0o644)

	tpl, err := LoadTemplate("bash", tdir)
	if err != nil || tpl.Fprocess != "cat" {
		t.Fatalf("LoadTemplate = %+v, %v", tpl, err)
	}
	dest := filepath.Join(t.TempDir(), "fn")
	if err := NewFunction("bash", "fn", dest, tdir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "custom.txt")); string(b) != "mine" {
		t.Fatalf("custom template not used")
	}
	langs, err := Languages(tdir)
	want := []string{"bash", "go", "mylang", "node", "python3", "python3-http"}
	if err != nil || !slices.Equal(langs, want) {
		t.Fatalf("Languages = %v, %v; want %v", langs, err, want)
	}
}

func TestNewFunction(t *testing.T) {
	for _, lang := range []string{"python3", "python3-http", "go", "node", "bash"} {
		t.Run(lang, func(t *testing.T) {
			dest := newHandler(t, lang)
			entries, err := os.ReadDir(dest)
			if err != nil || len(entries) == 0 {
				t.Fatalf("no files copied: %v", err)
			}
			if err := NewFunction(lang, "fn", dest, ""); err == nil {
				t.Fatalf("second NewFunction into %s should fail", dest)
			}
		})
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	img, err := Build(context.Background(), Options{Name: "fn", Lang: "bash", Handler: newHandler(t, "bash")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "build", "fn")
	for i := 0; i < 2; i++ { // the second save replaces the first
		if err := SaveLayout(img, dir); err != nil {
			t.Fatalf("SaveLayout: %v", err)
		}
	}
	got, err := LoadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := got.Digest()
	if d1 != d2 {
		t.Fatalf("digest %s, want %s", d2, d1)
	}
	notLayout := t.TempDir()
	os.WriteFile(filepath.Join(notLayout, "keep"), nil, 0o644)
	if err := SaveLayout(img, notLayout); err == nil {
		t.Fatal("SaveLayout over a non-layout dir should fail")
	}
}
