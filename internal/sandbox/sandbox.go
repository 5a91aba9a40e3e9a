package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/fjord-faas/fjord/internal/runtime/process"
)

// defaultTmpSize bounds /tmp when Launch.TmpSize is 0.
const defaultTmpSize = 64 << 20

// Sandbox starts replicas in namespaces with cgroup limits.
type Sandbox struct {
	cfg     Config
	log     *slog.Logger
	cg      cgroupDriver // nil when limits cannot be enforced
	caps    process.SandboxCaps
	overlay bool
	// self is the daemon's binary (Config.Self[0]); nil when it cannot be
	// stat'ed, which disables in-process launches.
	self os.FileInfo
	// spares holds inits started ahead of time (nil when Config.Spares is 0).
	spares  chan *spare
	spareMu sync.Mutex
	making  *spare // the spare being started, nil when none
	closed  bool   // Close was called: no more spares
	starter spareStarter
}

var _ process.Sandbox = (*Sandbox)(nil)

// New checks that namespaces can be used and which cgroup hierarchy to use; it
// changes nothing on the host. It returns an error wrapping ErrUnsupported when
// not running as root on Linux: the daemon then falls back to the plain
// sandbox and warns once. When only cgroups are unusable it succeeds, and
// Capabilities reports LimitsEnforced false with the reason.
func New(cfg Config) (*Sandbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if goruntime.GOOS != "linux" {
		return nil, fmt.Errorf("%w: needs Linux", ErrUnsupported)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: needs root (running as uid %d)", ErrUnsupported, os.Geteuid())
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Sandbox{cfg: cfg, log: logger.With("component", "sandbox"), overlay: hasOverlay()}
	drv, reason := detectCgroups(cfg.CgroupRoot, cfg.CgroupPrefix)
	s.cg = drv
	if cfg.Spares > 0 {
		s.spares = make(chan *spare, cfg.Spares)
	}
	if len(cfg.InProcess) > 0 {
		s.self, _ = os.Stat(cfg.Self[0])
	}
	s.caps = process.SandboxCaps{
		Isolation:      "namespaces",
		LimitsEnforced: drv != nil,
		LimitsReason:   reason,
		OwnRoot:        s.overlay,
	}
	return s, nil
}

// Capabilities says what the sandbox enforces.
func (s *Sandbox) Capabilities() process.SandboxCaps { return s.caps }

// hasOverlay reports whether the kernel knows overlayfs.
func hasOverlay() bool {
	b, err := os.ReadFile("/proc/filesystems")
	return err == nil && strings.Contains(string(b), "\toverlay\n")
}

// CleanupStale kills the processes of every replica cgroup under the prefix,
// deletes those cgroups and empties Config.WorkRoot. Call it once at start-up,
// before any replica of this run is started.
func (s *Sandbox) CleanupStale(ctx context.Context) error {
	var errs []error
	if s.cg != nil {
		names, err := s.cg.list()
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := removeGroup(s.cg.load(n)); err != nil {
				errs = append(errs, fmt.Errorf("remove stale cgroup %s: %w", n, err))
				continue
			}
			s.log.Info("removed stale replica cgroup", "replica", n)
		}
	}
	if s.cfg.WorkRoot != "" {
		entries, err := os.ReadDir(s.cfg.WorkRoot)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("list work root: %w", err))
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(s.cfg.WorkRoot, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("remove stale work dir: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// inProcess reports whether l runs the daemon's own binary with
// Config.InProcess arguments from the host root, so Init may run it in-process.
func (s *Sandbox) inProcess(l process.Launch) bool {
	if s.self == nil || !l.Bundle.HostRuntime || len(l.Args) != len(s.cfg.InProcess)+1 {
		return false
	}
	for i, a := range s.cfg.InProcess {
		if l.Args[i+1] != a {
			return false
		}
	}
	st, err := os.Stat(l.Path)
	return err == nil && os.SameFile(st, s.self)
}

// spec turns a Launch into what the init child needs.
func (s *Sandbox) spec(l process.Launch) (*initSpec, error) {
	if l.ReplicaID == "" || strings.ContainsAny(l.ReplicaID, "/\\") || strings.HasPrefix(l.ReplicaID, ".") {
		return nil, fmt.Errorf("sandbox: bad replica id %q", l.ReplicaID)
	}
	if !filepath.IsAbs(l.WorkDir) || filepath.Clean(l.WorkDir) == "/" {
		return nil, fmt.Errorf("sandbox: work dir %q must be an absolute path below /", l.WorkDir)
	}
	if l.Path == "" || l.Bundle.RootFS == "" {
		return nil, errors.New("sandbox: launch needs Path and Bundle.RootFS")
	}
	if !l.Bundle.HostRuntime && !s.overlay {
		return nil, errors.New("sandbox: images with their own root need overlayfs")
	}
	sp := &initSpec{
		HostRoot: l.Bundle.HostRuntime, RootFS: l.Bundle.RootFS,
		FuncDir: filepath.Join(l.Bundle.RootFS, l.Bundle.WorkingDir),
		Dir:     l.Dir, Path: l.Path, Args: l.Args, Env: l.Env,
		WorkDir: filepath.Clean(l.WorkDir), SecretsDir: l.SecretsDir, Binds: l.Binds,
		ReadOnlyRoot: l.ReadOnlyRootFS, TmpSize: l.TmpSize,
		HideDirs: append([]string(nil), s.cfg.HideDirs...),
		Hostname: l.Ref.Name, UID: s.cfg.UID, GID: s.cfg.GID,
		InProcess: s.inProcess(l),
	}
	if sp.Dir == "" {
		sp.Dir = filepath.Clean("/" + l.Bundle.WorkingDir)
	}
	if len(sp.Args) == 0 {
		sp.Args = []string{l.Path}
	}
	if sp.TmpSize <= 0 {
		sp.TmpSize = defaultTmpSize
	}
	if sp.Hostname == "" {
		sp.Hostname = l.ReplicaID
	}
	if len(sp.Hostname) > 63 {
		sp.Hostname = sp.Hostname[:63]
	}
	// Other replicas' work dirs are siblings of this one.
	if parent := filepath.Dir(sp.WorkDir); parent != "/" {
		sp.HideDirs = append(sp.HideDirs, parent)
	}
	return sp, nil
}
