package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/build"
	"github.com/fjord-faas/fjord/internal/stack"
)

// localTemplateDir is where faas-cli keeps pulled templates; it wins over the embedded ones.
const localTemplateDir = "./template"

// deployFlags are deploy's own flags (shared with up).
type deployFlags struct {
	image, name, fprocess     string
	env, labels, annotations  []string
	secrets, constraints      []string
	replace, update, readOnly bool
}

func (f *deployFlags) add(cmd *cobra.Command, withImage bool) {
	fl := cmd.Flags()
	if withImage {
		fl.StringVar(&f.image, "image", "", "deploy this image instead of the stack's functions (needs --name)")
		fl.StringVar(&f.name, "name", "", "function name for --image")
		fl.StringVar(&f.fprocess, "fprocess", "", "process the watchdog runs, for --image")
		fl.BoolVar(&f.readOnly, "readonly", false, "read-only root filesystem, for --image")
	}
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable key=value, wins over the stack (repeatable)")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "label key=value (repeatable)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "annotation key=value (repeatable)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret the function may read (repeatable)")
	fl.StringArrayVar(&f.constraints, "constraint", nil, "placement constraint (repeatable)")
	fl.BoolVar(&f.replace, "replace", false, "remove each function first, then create it")
	fl.BoolVar(&f.update, "update", true, "update an existing function in place (PUT), creating it on 404")
}

// imageSpec builds the deployment of --image/--name.
func (f *deployFlags) imageSpec(namespace string) (api.FunctionDeployment, error) {
	if f.name == "" {
		return api.FunctionDeployment{}, fmt.Errorf("--name is required with --image")
	}
	spec := api.FunctionDeployment{Service: f.name, Image: f.image, Namespace: namespace,
		EnvProcess: f.fprocess, ReadOnlyRootFilesystem: f.readOnly}
	return spec, f.apply(&spec, stack.Function{})
}

// stackSpec builds the deployment of a stack function, merged with the flags.
// stackSpecs turns the selected stack functions into deployments.
func (f *deployFlags) stackSpecs(cmd *cobra.Command, fns []stack.Function, namespace string) ([]api.FunctionDeployment, error) {
	specs := make([]api.FunctionDeployment, 0, len(fns))
	for _, fn := range fns {
		spec, err := f.stackSpec(cmd, fn, namespace)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

func (f *deployFlags) stackSpec(cmd *cobra.Command, fn stack.Function, namespace string) (api.FunctionDeployment, error) {
	spec := api.FunctionDeployment{
		Service: fn.Name, Image: fn.Image, Namespace: fn.Namespace, EnvProcess: fn.FProcess,
		ReadOnlyRootFilesystem: fn.ReadOnlyRootFilesystem,
		Limits:                 resources(fn.Limits), Requests: resources(fn.Requests),
	}
	if namespace != "" {
		spec.Namespace = namespace
	}
	if spec.EnvProcess == "" && fn.Lang != "" && fn.Lang != "dockerfile" {
		t, err := build.LoadTemplate(fn.Lang, localTemplateDir)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Warning: %s: no fprocess sent: %v\n", fn.Name, err)
		} else {
			spec.EnvProcess = t.Fprocess
		}
	}
	return spec, f.apply(&spec, fn)
}

// apply merges the stack's maps and lists with the flags (flags win).
func (f *deployFlags) apply(spec *api.FunctionDeployment, fn stack.Function) error {
	env, err := merge(fn.Environment, "env", f.env)
	if err != nil {
		return err
	}
	if len(env) > 0 {
		spec.EnvVars = env
	}
	labels, err := merge(fn.Labels, "label", f.labels)
	if err != nil {
		return err
	}
	annotations, err := merge(fn.Annotations, "annotation", f.annotations)
	if err != nil {
		return err
	}
	spec.Labels, spec.Annotations = &labels, &annotations
	spec.Secrets = appendUnique(fn.Secrets, f.secrets)
	spec.Constraints = appendUnique(fn.Constraints, f.constraints)
	return nil
}

func merge(base map[string]string, flag string, items []string) (map[string]string, error) {
	over, err := parseKV(flag, items)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out, nil
}

func appendUnique(base, extra []string) []string {
	out := slices.Clone(base)
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func resources(r *stack.Resources) *api.FunctionResources {
	if r == nil {
		return nil
	}
	return &api.FunctionResources{Memory: r.Memory, CPU: r.CPU, NvidiaGPU: r.NvidiaGPU, AMDGPU: r.AMDGPU, IntelGPU: r.IntelGPU}
}
