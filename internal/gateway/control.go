package gateway

import (
	"context"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/router"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// Control is the control plane as the gateway uses it; control.Service implements it.
// Errors wrap api.ErrInvalid (400), api.ErrUnknownNamespace (400), api.ErrNotFound or
// runtime.ErrNotFound (404), api.ErrExists (409, or 400 on function POST).
// An empty namespace argument means api.DefaultNamespace.
type Control interface {
	// Deploy creates (update=false; api.ErrExists when present) or updates
	// (update=true; api.ErrNotFound when missing) a function.
	Deploy(ctx context.Context, d api.FunctionDeployment, update bool) error
	Remove(ctx context.Context, namespace, name string) error
	Get(ctx context.Context, namespace, name string, usage bool) (api.FunctionStatus, error)
	List(ctx context.Context, namespace string) ([]api.FunctionStatus, error)
	// Scale sets desired replicas, clamped to the function's max; 0 is allowed.
	Scale(ctx context.Context, namespace, name string, replicas uint64) error

	ListSecrets(ctx context.Context, namespace string) ([]api.Secret, error)
	CreateSecret(ctx context.Context, s api.Secret) error
	UpdateSecret(ctx context.Context, s api.Secret) error
	DeleteSecret(ctx context.Context, namespace, name string) error

	ListNamespaces(ctx context.Context) ([]string, error)
	GetNamespace(ctx context.Context, name string) (api.FunctionNamespace, error)
	CreateNamespace(ctx context.Context, ns api.FunctionNamespace) error
	UpdateNamespace(ctx context.Context, ns api.FunctionNamespace) error
	DeleteNamespace(ctx context.Context, name string) error

	// Logs streams a function's logs (api.ErrNotFound for an unknown function;
	// runtime.ErrUnsupported when the runtime keeps none).
	Logs(ctx context.Context, q runtime.LogQuery) (<-chan runtime.LogEntry, error)
	// Orchestration names the active runtime ("process", "docker", "swarm").
	Orchestration() string
	// Capabilities tells what the active runtime enforces.
	Capabilities() runtime.Capabilities
}

// FunctionInfo is what the invoke path needs to know about a function, from memory.
// It is defined in package router (which cannot import gateway); the alias keeps
// gateway.FunctionInfo{Timeout: ..., ReadyPath: ...} working unchanged.
type FunctionInfo = router.FunctionInfo

// Functions is the in-memory lookup the invoke path uses; control.Service implements it.
// It has the same methods as router.Functions, so a value of one is a value of the other.
type Functions interface {
	// Lookup reports whether the function exists, without disk I/O.
	Lookup(ref runtime.Ref) (FunctionInfo, bool)
	// WakeUp makes sure a function scaled to zero gets max(min,1) desired replicas.
	// Concurrent callers are fine; it returns once the new target is stored.
	WakeUp(ctx context.Context, ref runtime.Ref) error
}
