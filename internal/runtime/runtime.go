// Package runtime is the contract between fjord's control plane and the engines
// that run function replicas (process, docker, swarm). It imports no engine code.
package runtime

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; the gateway maps them to HTTP status codes.
var (
	// ErrNotFound: the function is not known to the runtime.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the engine cannot be reached or is unhealthy.
	ErrUnavailable = errors.New("runtime unavailable")
	// ErrUnsupported: the spec asks for something this runtime cannot do
	// (e.g. an image kind it cannot run); the message says what.
	ErrUnsupported = errors.New("unsupported")
	// ErrImage: the image cannot be resolved, pulled or unpacked.
	ErrImage = errors.New("image error")
)

// Ref names a function.
type Ref struct {
	Name      string
	Namespace string
}

// String returns "name.namespace", the form used in paths and metric labels.
func (r Ref) String() string { return r.Name + "." + r.Namespace }

// Resources are parsed resource quantities; 0 means not set.
type Resources struct {
	MemoryBytes int64
	CPUMilli    int64
}

// SecretFile is a secret the function lists, with its exact bytes.
// It appears read-only at /var/openfaas/secrets/<Name> inside the function.
type SecretFile struct {
	Name string
	Data []byte
}

// FunctionSpec is everything a runtime needs to run a function.
type FunctionSpec struct {
	Ref
	// Image is the reference exactly as deployed ("hello:latest", "127.0.0.1:8080/x@sha256:...").
	Image string
	// Env is the function's environment: envVars plus fprocess (envProcess), already merged.
	Env         map[string]string
	Secrets     []SecretFile
	Labels      map[string]string
	Annotations map[string]string
	Limits      Resources
	Requests    Resources
	// ReadOnlyRootFS keeps the root read-only; /tmp stays writable.
	ReadOnlyRootFS bool
	Constraints    []string
	// Replicas is the desired number of replicas.
	Replicas int
	// ReadyPath, when set, is probed (through the watchdog) before a replica is routed to.
	ReadyPath string
	// Revision grows on every deploy or update; a new revision replaces all replicas
	// (rolling, without downtime) even when nothing else changed, so that secrets
	// are re-read and the image is re-resolved.
	Revision uint64
}

// ReplicaState is the lifecycle state of one replica.
type ReplicaState string

// Replica states.
const (
	StateStarting ReplicaState = "starting"
	StateReady    ReplicaState = "ready"
	StateCrashed  ReplicaState = "crashed" // exited; will be restarted after a backoff
	StateStopping ReplicaState = "stopping"
)

// Replica is the status of one replica.
type Replica struct {
	ID       string
	Address  string // the replica's watchdog: host:port, or unix:@name (see internal/sockaddr)
	State    ReplicaState
	Restarts int
	// Message is the last problem seen, e.g. "OOM killed" or "exited with code 1".
	Message   string
	StartedAt time.Time
	Revision  uint64
}

// Status is a function's state as the runtime sees it.
type Status struct {
	Ref
	Desired  int
	Replicas []Replica
	// Message is a function-level problem, e.g. an image that cannot be pulled.
	Message string
}

// Available counts ready replicas.
func (s Status) Available() int {
	n := 0
	for _, r := range s.Replicas {
		if r.State == StateReady {
			n++
		}
	}
	return n
}

// Endpoint is one ready replica the router may send calls to.
type Endpoint struct {
	ID      string
	Address string // the watchdog: host:port, or unix:@name (see internal/sockaddr)
	// Direct is the address (same forms) of the function's own HTTP server when calls may
	// bypass the watchdog; empty otherwise. The watchdog at Address still
	// supervises the replica (health, lock, restarts, process lifetime).
	Direct string
}

// EndpointListener receives the full set of ready endpoints of a function every
// time it changes; an empty set means none is ready (or the function is gone).
// It must not block.
type EndpointListener func(ref Ref, endpoints []Endpoint)

// Capabilities tell what a runtime enforces and offers.
type Capabilities struct {
	// Isolation is "none", "namespaces" or "container".
	Isolation string
	// LimitsEnforced is true when CPU and memory limits are applied.
	LimitsEnforced bool
	// LimitsReason explains why limits are not enforced.
	LimitsReason string
	Logs         bool
	Usage        bool
}

// Runtime runs function replicas. Implementations are safe for concurrent use.
type Runtime interface {
	// Name is "process", "docker" or "swarm".
	Name() string
	Capabilities() Capabilities
	// Health returns nil when the engine works, else the reason.
	Health(ctx context.Context) error
	// Subscribe registers a listener for endpoint changes; call before Start.
	Subscribe(l EndpointListener)
	Start(ctx context.Context) error
	// Close stops all replicas gracefully and releases resources.
	Close(ctx context.Context) error

	// Apply creates the function or updates it to spec (a new Revision rolls the
	// replicas without downtime) and sets its replica count. It returns once the
	// change is accepted; replicas become ready asynchronously.
	Apply(ctx context.Context, spec FunctionSpec) error
	// Scale sets the desired replica count (0 allowed).
	Scale(ctx context.Context, ref Ref, replicas int) error
	// Remove stops and deletes every replica of the function.
	Remove(ctx context.Context, ref Ref) error
	Status(ctx context.Context, ref Ref) (Status, error)
	List(ctx context.Context) ([]Status, error)
}

// LogQuery selects log lines.
type LogQuery struct {
	Ref
	Instance string    // one replica, or all when empty
	Tail     int       // last N lines; <= 0 means all
	Since    time.Time // only newer lines when non-zero
	Follow   bool      // keep streaming until ctx ends
}

// LogEntry is one line a replica (watchdog or function) wrote.
type LogEntry struct {
	Instance string
	Time     time.Time
	Text     string // the line including its trailing newline
}

// LogReader is implemented by runtimes that capture logs.
type LogReader interface {
	// Logs streams matching lines; the channel is closed when they are all sent
	// (Follow=false) or ctx ends.
	Logs(ctx context.Context, q LogQuery) (<-chan LogEntry, error)
}

// Usage is a function's current resource use summed over replicas.
type Usage struct {
	CPU         float64 // cores in use (1.0 = one full core)
	MemoryBytes int64
}

// UsageReader is implemented by runtimes that can measure usage.
type UsageReader interface {
	Usage(ctx context.Context, ref Ref) (Usage, error)
}
