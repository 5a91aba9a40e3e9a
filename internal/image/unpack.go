package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// unpackImage flattens img (whiteouts applied) into a temporary directory
// under cacheDir and renames it to dest, so dest is complete or absent.
func unpackImage(ctx context.Context, img v1.Image, cf *v1.ConfigFile, cacheDir, dest string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".unpack-")
	if err != nil {
		return fmt.Errorf("create unpack dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := untar(ctx, rc, filepath.Join(tmp, "rootfs")); err != nil {
		return err
	}
	b, err := json.Marshal(cf)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), b, 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chmod unpack dir: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		// Another process may have unpacked the same digest first.
		if _, statErr := os.Stat(filepath.Join(dest, "config.json")); statErr == nil {
			return nil
		}
		return fmt.Errorf("move unpacked image: %w", err)
	}
	return nil
}

// untar writes a flattened layer stream into root. Entries may not escape
// root, neither by their name nor through a symlink. Hard links are made after
// all other entries because a flattened stream lists upper layers first.
func untar(ctx context.Context, r io.Reader, root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create rootfs: %w", err)
	}
	tr := tar.NewReader(r)
	var links []*tar.Header
	dirModes := map[string]os.FileMode{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// The flattener writes the tar trailer even when it fails; its
			// error follows the trailer.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("read layer: %w", err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		target, err := safeJoin(root, hdr.Name)
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeLink {
			links = append(links, hdr)
			continue
		}
		if err := writeEntry(root, target, hdr, tr, dirModes); err != nil {
			return err
		}
	}
	for _, hdr := range links {
		if err := writeHardlink(root, hdr); err != nil {
			return err
		}
	}
	// Directory modes last, so a read-only directory does not block its files.
	for dir, mode := range dirModes {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

func writeEntry(root, target string, hdr *tar.Header, r io.Reader, dirModes map[string]os.FileMode) error {
	if err := mkParents(root, target); err != nil {
		return err
	}
	mode := os.FileMode(hdr.Mode) & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("create dir %s: %w", hdr.Name, err)
		}
		dirModes[target] = mode | 0o700
	case tar.TypeReg, tar.TypeRegA:
		if isDir(target) {
			return nil // an upper layer made this a directory
		}
		return writeFile(target, hdr.Name, r, mode)
	case tar.TypeSymlink:
		if isDir(target) {
			return nil
		}
		_ = os.Remove(target)
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("create symlink %s: %w", hdr.Name, err)
		}
	default:
		// Devices, FIFOs and the like have no place in a function bundle.
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func writeFile(target, name string, r io.Reader, mode os.FileMode) error {
	_ = os.Remove(target)
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Chmod(target, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	return nil
}

func writeHardlink(root string, hdr *tar.Header) error {
	target, err := safeJoin(root, hdr.Name)
	if err != nil {
		return err
	}
	source, err := safeJoin(root, hdr.Linkname)
	if err != nil {
		return err
	}
	if err := mkParents(root, target); err != nil {
		return err
	}
	if err := checkNoSymlinkParents(root, source); err != nil {
		return err
	}
	_ = os.Remove(target)
	if err := os.Link(source, target); err != nil {
		return fmt.Errorf("create hard link %s: %w", hdr.Name, err)
	}
	return nil
}

// safeJoin maps a tar name to a path under root, refusing names that climb
// out of it.
func safeJoin(root, name string) (string, error) {
	clean := path.Clean("/" + strings.TrimPrefix(name, "./"))
	if strings.Contains(name, "..") {
		for _, part := range strings.Split(name, "/") {
			if part == ".." {
				return "", fmt.Errorf("layer entry %q escapes the image root", name)
			}
		}
	}
	return filepath.Join(root, filepath.FromSlash(clean)), nil
}

// mkParents creates target's parent directories, refusing to go through a
// symlink (which could point outside root).
func mkParents(root, target string) error {
	if err := checkNoSymlinkParents(root, target); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("create parent of %s: %w", target, err)
	}
	return nil
}

func checkNoSymlinkParents(root, target string) error {
	rel, err := filepath.Rel(root, filepath.Dir(target))
	if err != nil || rel == "." {
		return nil
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inspect %s: %w", cur, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			rel, _ := filepath.Rel(root, target)
			return fmt.Errorf("layer entry %q goes through a symlink", rel)
		}
	}
	return nil
}
