package build

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// writeWheel writes a minimal pure-Python wheel that pip installs offline.
func writeWheel(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	files := map[string]string{
		"tinyfjord.py":                          "VALUE = 42\n",
		"tinyfjord-0.1.dist-info/METADATA":      "Metadata-Version: 2.1\nName: tinyfjord\nVersion: 0.1\n",
		"tinyfjord-0.1.dist-info/WHEEL":         "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"tinyfjord-0.1.dist-info/RECORD":        "",
		"tinyfjord-0.1.dist-info/top_level.txt": "tinyfjord\n",
	}
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestBuildPythonRequirements(t *testing.T) {
	testenv.NeedCommand(t, "python3")
	testenv.Need(t, exec.Command("python3", "-m", "pip", "--version").Run() == nil, "pip not available for python3")
	t.Run("local wheel", func(t *testing.T) {
		dir := newHandler(t, "python3")
		writeWheel(t, filepath.Join(dir, "tinyfjord-0.1-py3-none-any.whl"))
		os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("./tinyfjord-0.1-py3-none-any.whl\n"), 0o644)
		img, err := Build(context.Background(), Options{Name: "fn", Lang: "python3", Handler: dir})
		if err != nil {
			t.Fatal(err)
		}
		if got := layerFiles(t, img)["home/app/python/tinyfjord.py"]; got != "VALUE = 42\n" {
			t.Fatalf("installed module = %q", got)
		}
	})
	t.Run("unreachable index", func(t *testing.T) {
		dir := newHandler(t, "python3")
		os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("surely-not-a-package-fjord==1.0\n"), 0o644)
		args := map[string]string{"PIP_RETRIES": "0", "PIP_TIMEOUT": "2", "PIP_INDEX_URL": "http://127.0.0.1:9/simple"}
		_, err := Build(context.Background(), Options{Name: "fn", Lang: "python3", Handler: dir, BuildArgs: args})
		if err == nil || !strings.Contains(err.Error(), "package index may be unreachable") ||
			!strings.Contains(err.Error(), "surely-not-a-package-fjord") {
			t.Fatalf("err = %v", err)
		}
	})
}
