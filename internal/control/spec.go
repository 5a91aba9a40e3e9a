package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/store"
)

// resolveSecrets reads the listed secrets' values. With strict, a missing one is
// api.ErrInvalid ("unable to find secret"); otherwise it is logged and skipped.
func (s *Service) resolveSecrets(ctx context.Context, ns string, names []string, strict bool) ([]runtime.SecretFile, error) {
	out := make([]runtime.SecretFile, 0, len(names))
	for _, name := range names {
		data, err := s.store.GetSecret(ctx, ns, name)
		switch {
		case errors.Is(err, api.ErrNotFound) && strict:
			return nil, fmt.Errorf("%w: unable to find secret: %s", api.ErrInvalid, name)
		case errors.Is(err, api.ErrNotFound):
			s.log.Warn("secret of function is missing", "namespace", ns, "secret", name)
			continue
		case err != nil:
			return nil, fmt.Errorf("read secret %s: %w", name, err)
		}
		out = append(out, runtime.SecretFile{Name: name, Data: data})
	}
	return out, nil
}

// specFor builds the runtime spec of a stored function.
func specFor(rec store.FunctionRecord, secrets []runtime.SecretFile) runtime.FunctionSpec {
	d := rec.Deployment
	env := maps.Clone(d.EnvVars)
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["fprocess"]; !ok && d.EnvProcess != "" {
		env["fprocess"] = d.EnvProcess
	}
	annotations := maps.Clone(d.AnnotationMap())
	return runtime.FunctionSpec{
		Ref:            refOf(rec),
		Image:          d.Image,
		Env:            env,
		Secrets:        secrets,
		Labels:         maps.Clone(d.LabelMap()),
		Annotations:    annotations,
		Limits:         resourcesOf(d.Limits),
		Requests:       resourcesOf(d.Requests),
		ReadOnlyRootFS: d.ReadOnlyRootFilesystem,
		Constraints:    slices.Clone(d.Constraints),
		Replicas:       rec.Replicas,
		ReadyPath:      annotations[api.AnnotationReadyPath],
		Revision:       rec.Revision,
	}
}

// resourcesOf parses quantities that Validate has already accepted.
func resourcesOf(r *api.FunctionResources) runtime.Resources {
	if r == nil {
		return runtime.Resources{}
	}
	mem, _ := api.ParseMemory(r.Memory)
	cpu, _ := api.ParseCPU(r.CPU)
	return runtime.Resources{MemoryBytes: mem, CPUMilli: cpu}
}
