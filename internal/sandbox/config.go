// Package sandbox runs function replicas isolated from each other and from the
// daemon: new mount, PID, IPC and UTS namespaces, an unprivileged user without
// capabilities, a private root (the host root read-only, or an image's own root
// on overlayfs) and per-replica cgroup limits. It implements process.Sandbox.
//
// The daemon re-executes itself as "sandbox-init" (Config.Self) inside the new
// namespaces; Init builds the root there, drops privileges and execs the
// function's program, which becomes PID 1 of its PID namespace.
package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
)

// InitCommand is the hidden subcommand name the daemon registers for Init.
const InitCommand = "sandbox-init"

// ErrUnsupported is returned by New when namespaces cannot be used here (not
// root, not Linux). The daemon falls back to the plain sandbox and warns once.
var ErrUnsupported = errors.New("namespace sandbox unsupported")

// Config configures the namespace sandbox.
type Config struct {
	// Self is the command that runs Init in the child: the daemon's own binary
	// and its hidden subcommand. Two fd numbers are appended to it.
	Self []string
	// UID and GID the function runs as (default 65534, "nobody").
	UID, GID uint32
	// CgroupPrefix names the parent cgroup of all replicas ("fjord" makes
	// "fjord/<ReplicaID>" in each hierarchy).
	CgroupPrefix string
	// CgroupRoot is where the cgroup filesystems are mounted.
	CgroupRoot string
	// PidsLimit bounds the number of tasks in one replica (0 = unlimited).
	PidsLimit int64
	// HideDirs are host directories (the daemon's state) covered by an empty
	// read-only tmpfs in host-root replicas, so a function cannot read other
	// functions' files or secrets. The parent of each Launch.WorkDir is hidden too.
	HideDirs []string
	// WorkRoot, when set, is the parent of the replicas' work dirs:
	// CleanupStale removes everything in it. Leave empty if it is shared.
	WorkRoot string
	// InProcess lists the arguments (after the program name) with which a
	// launch of the daemon's own binary is run inside the init process instead
	// of exec'ing it again, e.g. {"watchdog"}: this saves one start-up of the
	// binary per replica. It applies to host-root launches only, and only when
	// Init was given a Runner; nil always execs.
	InProcess []string
	// Spares is how many init processes are kept started ahead of time, in
	// their namespaces and waiting for a replica's spec (0: every start
	// starts its init). A start that takes one skips the binary's start-up.
	// Spares are made after the first start and refilled after each, at nice 19.
	Spares int
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Default returns the configuration used by fjord serve.
func Default() Config {
	return Config{
		Self:         []string{"/proc/self/exe", InitCommand},
		UID:          65534,
		GID:          65534,
		CgroupPrefix: "fjord",
		CgroupRoot:   "/sys/fs/cgroup",
		PidsLimit:    1024,
		InProcess:    []string{"watchdog"},
		Spares:       1,
	}
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	switch {
	case len(c.Self) == 0:
		return errors.New("sandbox: Self is empty")
	case c.UID == 0 || c.GID == 0:
		return errors.New("sandbox: UID and GID must not be root")
	case c.CgroupPrefix == "" || strings.Contains(c.CgroupPrefix, ".."):
		return fmt.Errorf("sandbox: bad cgroup prefix %q", c.CgroupPrefix)
	case !filepath.IsAbs(c.CgroupRoot):
		return fmt.Errorf("sandbox: cgroup root %q is not absolute", c.CgroupRoot)
	case c.PidsLimit < 0:
		return errors.New("sandbox: negative pids limit")
	case c.Spares < 0:
		return errors.New("sandbox: negative spares")
	}
	for _, d := range c.HideDirs {
		if !filepath.IsAbs(d) || filepath.Clean(d) == "/" {
			return fmt.Errorf("sandbox: hide dir %q must be an absolute path below /", d)
		}
	}
	if c.WorkRoot != "" && (!filepath.IsAbs(c.WorkRoot) || filepath.Clean(c.WorkRoot) == "/") {
		return fmt.Errorf("sandbox: work root %q must be an absolute path below /", c.WorkRoot)
	}
	return nil
}
