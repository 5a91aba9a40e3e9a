package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ensure makes target (a path inside the new root) exist as a directory or an
// empty file so something can be mounted on it. The host root is bound
// read-only, so a missing mount point there cannot be created in place (and
// must not be: it would change the host). Instead the nearest existing
// ancestor is shadowed by a tmpfs that re-binds its entries, and the missing
// part is made in that tmpfs.
func (b *builder) ensure(target string, isDir bool) error {
	dst := filepath.Join(b.newRoot, target)
	if st, err := os.Lstat(dst); err == nil {
		if st.IsDir() != isDir {
			return fmt.Errorf("mount point %s: file type differs from source", target)
		}
		return nil
	}
	err := b.create(dst, isDir)
	if err == nil || !isROFS(err) {
		return err
	}
	anc := filepath.Dir(dst)
	for {
		if _, err := os.Lstat(anc); err == nil {
			break
		}
		anc = filepath.Dir(anc)
	}
	if err := b.shadow(anc); err != nil {
		return fmt.Errorf("shadow %s: %w", b.trimRoot(anc), err)
	}
	return b.create(dst, isDir)
}

func (b *builder) create(dst string, isDir bool) error {
	if isDir {
		return os.MkdirAll(dst, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// shadow covers dir (inside the new root) with a tmpfs that holds the same
// entries, each bound from the original (recursively, so the read-only flag
// and earlier mounts below it carry over). The tmpfs is filled at the stage
// dir and then moved into place; it becomes read-only at the end of the build.
func (b *builder) shadow(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	mode := fmt.Sprintf("mode=%o", st.Mode().Perm())
	if err := unix.Mount("tmpfs", b.stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,"+mode); err != nil {
		return err
	}
	for _, e := range entries {
		if err := rebind(filepath.Join(dir, e.Name()), filepath.Join(b.stage, e.Name()), e.Type()); err != nil {
			return err
		}
	}
	if err := unix.Mount(b.stage, dir, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move shadow into place: %w", err)
	}
	b.readOnly = append(b.readOnly, dir)
	return nil
}

// rebind recreates src at dst: a symlink is copied, anything else is bound.
func rebind(src, dst string, typ os.FileMode) error {
	if typ&os.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	var err error
	if typ.IsDir() {
		err = os.Mkdir(dst, 0o755)
	} else {
		err = os.WriteFile(dst, nil, 0o644)
	}
	if err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return nil
}
