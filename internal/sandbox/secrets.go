package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// mountSecrets puts a private tmpfs at dst holding copies of the regular files
// in src, readable only by the function's user. The runtime keeps its own
// files root-only (0400); copying them (instead of binding) lets the
// unprivileged function read its secrets without loosening the host files.
// The tmpfs is made read-only at the end of the build.
func (b *builder) mountSecrets(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read secrets dir: %w", err)
	}
	var size int64 = 64 << 10
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			size += info.Size() + 4096
		}
	}
	uid, gid := int(b.spec.UID), int(b.spec.GID)
	opts := "mode=0500,size=" + strconv.FormatInt(size, 10) + ",uid=" + strconv.Itoa(uid) + ",gid=" + strconv.Itoa(gid)
	if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return fmt.Errorf("read secret %s: %w", e.Name(), err)
		}
		p := filepath.Join(dst, e.Name())
		if err := os.WriteFile(p, data, 0o400); err != nil {
			return fmt.Errorf("copy secret %s: %w", e.Name(), err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("own secret %s: %w", e.Name(), err)
		}
	}
	b.readOnly = append(b.readOnly, dst)
	return nil
}
