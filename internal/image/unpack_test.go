package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUntarRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		headers []tar.Header
		want    string
	}{
		{"dotdot", []tar.Header{{Name: "a/../../evil", Typeflag: tar.TypeReg}}, "escapes"},
		{"through symlink", []tar.Header{
			{Name: "out", Typeflag: tar.TypeSymlink, Linkname: "/"},
			{Name: "out/evil", Typeflag: tar.TypeReg},
		}, "symlink"},
		{"hard link out", []tar.Header{{Name: "evil", Typeflag: tar.TypeLink, Linkname: "../etc/passwd"}}, "escapes"},
		{"hard link through symlink", []tar.Header{
			{Name: "out", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
			{Name: "evil", Typeflag: tar.TypeLink, Linkname: "out/passwd"},
		}, "symlink"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range tc.headers {
				h.Mode = 0o644
				if err := tw.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			root := filepath.Join(t.TempDir(), "rootfs")
			err := untar(context.Background(), &buf, root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Lstat(filepath.Join(root, "evil")); err == nil {
				t.Fatal("evil was created")
			}
		})
	}
}
