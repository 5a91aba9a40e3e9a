// Package image resolves function images (OCI) to unpacked bundles that the
// process runtime can run. Images come from the embedded registry or any
// registry reachable over HTTP(S); unpacked trees are cached per digest.
package image

import "context"

// LabelHostRuntime marks an image built by fjord from a template: its files run
// on the host's interpreters (python3, node, ...) instead of carrying an OS root.
const LabelHostRuntime = "dev.fjord.host-runtime"

// Bundle is an unpacked image.
type Bundle struct {
	// Digest is the manifest digest the bundle was unpacked from ("sha256:...").
	Digest string
	// RootFS is the directory holding the unpacked layers. Treat it as read-only:
	// it is shared between replicas and functions with the same digest.
	RootFS string
	// Env is the image config's environment ("KEY=value").
	Env []string
	// WorkingDir is the image config's working directory, inside RootFS (e.g. "/home/app").
	WorkingDir string
	Entrypoint []string
	Cmd        []string
	Labels     map[string]string
	User       string
	// HostRuntime is true when Labels[LabelHostRuntime] == "true".
	HostRuntime bool
}

// Provider resolves an image reference (as deployed) to an unpacked bundle.
// It re-resolves tags on every call, so a new push of the same tag is picked up.
type Provider interface {
	Prepare(ctx context.Context, ref string) (Bundle, error)
}
