package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountKind says how a planned mount is made.
type mountKind int

const (
	kindBind    mountKind = iota
	kindHide              // empty read-only tmpfs over a host directory
	kindTmp               // the private /tmp
	kindProc              // fresh /proc for the PID namespace
	kindDev               // minimal /dev
	kindSecrets           // copies of the secret files, owned by the function's user
)

// plannedMount is one mount inside the new root.
type plannedMount struct {
	kind     mountKind
	source   string // host path (binds)
	target   string // path inside the new root
	readOnly bool
}

// builder assembles the replica root under newRoot, in the child's private
// mount namespace, before pivot_root.
type builder struct {
	spec    *initSpec
	newRoot string
	stage   string
	// readOnly lists the tmpfs mounts (inside newRoot) remounted read-only at the end.
	readOnly []string
}

// buildRoot makes every mount the replica needs and pivots into it; before
// the pivot, still with the host's view of the file systems, it calls
// beforePivot.
func buildRoot(spec *initSpec, beforePivot func() error) error {
	if !mountsPrivate {
		if err := makeMountsPrivate(); err != nil {
			return err
		}
	}
	b := &builder{spec: spec, newRoot: filepath.Join(spec.WorkDir, "root"), stage: filepath.Join(spec.WorkDir, "stage")}
	for _, d := range []string{b.newRoot, b.stage} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make sandbox dir: %w", err)
		}
	}
	if err := b.mountRoot(); err != nil {
		return err
	}
	for _, m := range b.plan() {
		if err := b.mount(m); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
	}
	if !spec.HostRoot && spec.ReadOnlyRoot {
		b.readOnly = append([]string{b.newRoot}, b.readOnly...)
	}
	for i := len(b.readOnly) - 1; i >= 0; i-- {
		if err := remountRO(b.readOnly[i]); err != nil {
			return fmt.Errorf("make %s read-only: %w", b.readOnly[i], err)
		}
	}
	if err := beforePivot(); err != nil {
		return err
	}
	return pivot(b.newRoot)
}

// mountsPrivate is set once this init's mounts were made private (a spare
// does it while it waits); buildRoot then skips it.
var mountsPrivate bool

// makeMountsPrivate stops mount events propagating between this mount
// namespace and the host's, both ways.
func makeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	return nil
}

// mountRoot puts the base of the root at newRoot: the host root bound
// read-only (recursively), or an overlay of the image with a private upper dir.
func (b *builder) mountRoot() error {
	if b.spec.HostRoot {
		if err := unix.Mount("/", b.newRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind host root: %w", err)
		}
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
		if err := unix.MountSetattr(-1, b.newRoot, unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("make host root read-only (needs Linux 5.12+): %w", err)
		}
		return nil
	}
	upper, work := filepath.Join(b.spec.WorkDir, "upper"), filepath.Join(b.spec.WorkDir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make overlay dir: %w", err)
		}
	}
	opts := "lowerdir=" + b.spec.RootFS + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", b.newRoot, "overlay", unix.MS_NOSUID, opts); err != nil {
		return fmt.Errorf("mount overlay root: %w", err)
	}
	return nil
}

// plan lists the mounts in path order, so a parent is mounted before its children.
func (b *builder) plan() []plannedMount {
	s := b.spec
	ms := []plannedMount{
		{kind: kindDev, target: "/dev"},
		{kind: kindProc, target: "/proc"},
		{kind: kindTmp, target: "/tmp"},
	}
	if s.HostRoot {
		for _, d := range s.HideDirs {
			ms = append(ms, plannedMount{kind: kindHide, target: d})
		}
		ms = append(ms, plannedMount{kind: kindBind, source: s.FuncDir, target: s.Dir, readOnly: true})
		if hiddenPath(s.Path, s.HideDirs) {
			// The program lives where the root hides things (e.g. a test
			// binary under /tmp): bind just the program back.
			ms = append(ms, plannedMount{kind: kindBind, source: s.Path, target: s.Path, readOnly: true})
		}
	}
	if s.SecretsDir != "" {
		ms = append(ms, plannedMount{kind: kindSecrets, source: s.SecretsDir, target: "/var/openfaas/secrets"})
	}
	for _, bd := range s.Binds {
		ms = append(ms, plannedMount{kind: kindBind, source: bd.Host, target: bd.Target, readOnly: bd.ReadOnly})
	}
	for i := range ms {
		ms[i].target = filepath.Clean("/" + ms[i].target)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].target < ms[j].target })
	return ms
}

func (b *builder) mount(m plannedMount) error {
	dst := filepath.Join(b.newRoot, m.target)
	switch m.kind {
	case kindHide:
		if _, err := os.Lstat(dst); err != nil {
			return nil // nothing there to hide
		}
		b.readOnly = append(b.readOnly, dst)
		return unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k,mode=0755")
	case kindTmp:
		if err := b.ensure(m.target, true); err != nil {
			return err
		}
		opts := "mode=1777,size=" + strconv.FormatInt(b.spec.TmpSize, 10)
		return unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts)
	case kindProc:
		if err := b.ensure(m.target, true); err != nil {
			return err
		}
		return unix.Mount("proc", dst, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	case kindDev:
		return b.mountDev(dst)
	case kindSecrets:
		if err := b.ensure(m.target, true); err != nil {
			return err
		}
		return b.mountSecrets(m.source, dst)
	}
	return b.bind(m, dst)
}

// bind mounts a host file or directory at m.target.
func (b *builder) bind(m plannedMount, dst string) error {
	st, err := os.Stat(m.source)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	if err := b.ensure(m.target, st.IsDir()); err != nil {
		return err
	}
	if err := unix.Mount(m.source, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if !m.readOnly {
		return nil
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
	return unix.MountSetattr(-1, dst, unix.AT_RECURSIVE, attr)
}

// devNodes are bound from the host into the private /dev.
var devNodes = [...]string{"null", "zero", "random", "urandom", "full", "tty"}

func (b *builder) mountDev(dst string) error {
	if err := b.ensure("/dev", true); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "size=64k,mode=0755"); err != nil {
		return err
	}
	for _, n := range devNodes {
		p := filepath.Join(dst, n)
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+n, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", n, err)
		}
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	shm := filepath.Join(dst, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	b.readOnly = append(b.readOnly, dst)
	opts := "mode=1777,size=" + strconv.FormatInt(b.spec.TmpSize, 10)
	return unix.Mount("tmpfs", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts)
}

// hiddenPath tells whether a host path is covered in a host-root replica: by
// the private /tmp, /dev or /proc, or by a hidden directory.
func hiddenPath(p string, hide []string) bool {
	if !filepath.IsAbs(p) {
		return false
	}
	if _, err := os.Stat(p); err != nil {
		return false
	}
	for _, d := range append([]string{"/tmp", "/dev", "/proc"}, hide...) {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// remountRO makes the mount at path read-only without touching its other flags.
func remountRO(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY)
	for _, f := range []uintptr{unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC} {
		if uintptr(st.Flags)&f != 0 {
			flags |= f
		}
	}
	return unix.Mount("", path, "", flags, "")
}

// pivot makes newRoot the root and detaches the old one.
func pivot(newRoot string) error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("enter new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// isROFS tells a read-only file system error, the sign that a mount point
// must be made in a shadow of the host directory.
func isROFS(err error) bool { return errors.Is(err, unix.EROFS) }

// trimRoot strips the new root prefix for messages.
func (b *builder) trimRoot(p string) string {
	return "/" + strings.TrimPrefix(strings.TrimPrefix(p, b.newRoot), "/")
}
