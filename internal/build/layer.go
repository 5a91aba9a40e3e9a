package build

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the timestamp of every file and of the image: builds of the same
// inputs give the same digest.
func epoch() time.Time { return time.Unix(0, 0).UTC() }

// entry is one file of the layer being assembled.
type entry struct {
	data []byte
	exec bool
	link string // symlink target when non-empty
	dir  bool
}

// tree collects the layer's files by slash path (no leading slash).
type tree struct {
	entries map[string]entry
}

func newTree() *tree { return &tree{entries: map[string]entry{}} }

func (t *tree) addDirs(p string) {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		t.entries[d] = entry{dir: true}
	}
}

func (t *tree) addFile(p string, data []byte, exec bool) {
	t.addDirs(p)
	t.entries[p] = entry{data: data, exec: exec}
}

// addFS copies src under prefix; skip is called with slash paths relative to
// src and returns true for entries (and their subtrees) to leave out.
func (t *tree) addFS(src fs.FS, prefix string, skip func(string) bool) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			t.entries[prefix] = entry{dir: true}
			t.addDirs(prefix)
			return nil
		}
		if skip != nil && skip(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst := path.Join(prefix, p)
		if d.IsDir() {
			t.addDirs(dst)
			t.entries[dst] = entry{dir: true}
			return nil
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		t.addFile(dst, b, info.Mode()&0o111 != 0)
		return nil
	})
}

// addDir copies a directory on disk under prefix, keeping symlinks as links.
func (t *tree) addDir(dir, prefix string, skip func(string) bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst := path.Join(prefix, rel)
		t.addDirs(dst)
		switch {
		case d.IsDir():
			t.entries[dst] = entry{dir: true}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			t.entries[dst] = entry{link: target}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t.entries[dst] = entry{data: b, exec: info.Mode()&0o111 != 0}
		}
		return nil
	})
}

// tar writes the tree as a tar stream, sorted, with fixed owners, modes and
// times.
func (t *tree) tar() ([]byte, error) {
	names := make([]string, 0, len(t.entries))
	for n := range t.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := writeTarEntry(tw, n, t.entries[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer: %w", err)
	}
	return buf.Bytes(), nil
}

func writeTarEntry(tw *tar.Writer, name string, e entry) error {
	hdr := &tar.Header{Name: name, ModTime: epoch(), Mode: 0o644, Format: tar.FormatPAX}
	switch {
	case e.dir:
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
	case e.link != "":
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		if e.exec {
			hdr.Mode = 0o755
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write layer entry %s: %w", name, err)
	}
	if _, err := tw.Write(e.data); err != nil {
		return fmt.Errorf("write layer entry %s: %w", name, err)
	}
	return nil
}

// writeSubtree writes the entries under prefix to dir on disk.
func (t *tree) writeSubtree(prefix, dir string) error {
	for name, e := range t.entries {
		rel, ok := strings.CutPrefix(name, prefix+"/")
		if !ok {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if e.dir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if e.link != "" {
			if err := os.Symlink(e.link, target); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(target, e.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
