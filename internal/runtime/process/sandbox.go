package process

import (
	"context"
	"io"
	"os"

	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// Bind is an extra bind mount into a sandboxed replica's root.
type Bind struct {
	Host     string // path on the host
	Target   string // path inside the replica's root
	ReadOnly bool
}

// Launch describes one replica process to start.
type Launch struct {
	// ReplicaID is unique per replica start (also names its cgroup and work dir).
	ReplicaID string
	Ref       runtime.Ref
	Bundle    image.Bundle
	// Path and Args are the command to run; for a sandbox with its own root they
	// are paths inside that root. Args[0] is the program name.
	Path string
	Args []string
	Env  []string
	// Dir is the working directory (inside the root when sandboxed; a host path otherwise).
	Dir string
	// WorkDir is a private, writable host directory for this replica (TMPDIR when
	// not sandboxed; scratch space for the sandbox). Removed after the replica ends.
	WorkDir string
	// SecretsDir is a host directory holding the function's secret files; it must
	// appear read-only at /var/openfaas/secrets. Empty when the function lists none.
	SecretsDir string
	// Binds are extra bind mounts (e.g. the fjord binary into an image's root).
	Binds          []Bind
	ReadOnlyRootFS bool
	Limits         runtime.Resources
	// TmpSize bounds the private /tmp in bytes (sandbox only).
	TmpSize int64
	// ExtraFiles are inherited as fd 3, 4, ... (listener socket, ready pipe).
	ExtraFiles []*os.File
	Stdout     io.Writer
	Stderr     io.Writer
}

// ExitInfo tells how a replica process ended.
type ExitInfo struct {
	Code      int  // exit code, -1 when killed by a signal
	Signal    int  // the signal number when killed by one
	OOMKilled bool // the kernel's OOM killer ended it (memory limit)
}

// Process is a started replica process.
type Process interface {
	Pid() int
	// Wait blocks until the process exits.
	Wait() (ExitInfo, error)
	Signal(sig os.Signal) error
	// Usage returns cumulative CPU seconds and current memory in bytes.
	Usage() (cpuSeconds float64, memoryBytes int64, err error)
	// Cleanup releases what the sandbox made for the process (cgroup, dirs); call after Wait.
	Cleanup() error
}

// SandboxCaps describe what a sandbox enforces.
type SandboxCaps struct {
	Isolation      string // "none" or "namespaces"
	LimitsEnforced bool
	LimitsReason   string // why limits are not enforced, when they are not
	// OwnRoot is true when the sandbox can run images that carry their own root filesystem.
	OwnRoot bool
}

// Sandbox starts replica processes with isolation and resource limits.
// The plain implementation in this package has neither; internal/sandbox adds them.
type Sandbox interface {
	Start(ctx context.Context, l Launch) (Process, error)
	Capabilities() SandboxCaps
	// CleanupStale removes what an earlier daemon run left behind (after kill -9).
	CleanupStale(ctx context.Context) error
}
