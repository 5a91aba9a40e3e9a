package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// NewFunction copies the starting handler of template lang (its function/
// folder, or handler_folder) to dest, which must not exist yet. name is the
// function's name, used in messages only.
func NewFunction(lang, name, dest, templateDir string) error {
	tfs, err := templateFS(lang, templateDir)
	if err != nil {
		return fmt.Errorf("new function %s: %w", name, err)
	}
	t, err := readTemplate(tfs, lang)
	if err != nil {
		return fmt.Errorf("new function %s: %w", name, err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("new function %s: %s already exists", name, dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("new function %s: %w", name, err)
	}
	src := filepath.ToSlash(t.handlerFolder())
	sub, err := fs.Sub(tfs, src)
	if err != nil {
		return fmt.Errorf("new function %s: %w", name, err)
	}
	if _, err := fs.Stat(sub, "."); err != nil {
		return fmt.Errorf("new function %s: template %s has no %s folder", name, lang, src)
	}
	if err := copyFS(sub, dest); err != nil {
		return fmt.Errorf("new function %s: %w", name, err)
	}
	return nil
}

// copyFS copies a tree to dir, keeping the executable bit.
func copyFS(src fs.FS, dir string) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return os.WriteFile(target, b, mode)
	})
}
