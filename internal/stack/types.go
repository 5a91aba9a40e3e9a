// Package stack parses faas-cli's stack.yml files (see shared/openfaas-api.md 6.1).
package stack

// Stack is a parsed stack.yml.
type Stack struct {
	// Version is "1.0" or empty.
	Version string `yaml:"version,omitempty"`
	// Provider names the platform and, optionally, its gateway.
	Provider Provider `yaml:"provider"`
	// Functions is keyed by function name.
	Functions map[string]Function `yaml:"functions"`
	// Configuration holds template sources and extra build-context paths.
	Configuration Configuration `yaml:"configuration,omitempty"`
	// Path is the file the stack was read from (empty when parsed from bytes).
	Path string `yaml:"-"`
}

// Provider is the stack's `provider` section.
type Provider struct {
	// Name must be "openfaas" (or "fjord").
	Name string `yaml:"name"`
	// Gateway is the gateway URL, optional.
	Gateway string `yaml:"gateway,omitempty"`
}

// Function is one entry of the `functions` map.
type Function struct {
	// Name is the map key; it is filled in by the parser.
	Name string `yaml:"-"`
	// Lang is the template (a directory under ./template); "Dockerfile" becomes "dockerfile".
	Lang string `yaml:"lang,omitempty"`
	// Handler is the build-context folder.
	Handler string `yaml:"handler,omitempty"`
	// Image is the image reference, deployed exactly as written.
	Image string `yaml:"image"`
	// FProcess overrides the template's fprocess.
	FProcess  string `yaml:"fprocess,omitempty"`
	SkipBuild bool   `yaml:"skip_build,omitempty"`
	Namespace string `yaml:"namespace,omitempty"`
	// Environment holds `environment` merged with every `environment_file` (the files win).
	Environment     map[string]string `yaml:"environment,omitempty"`
	EnvironmentFile []string          `yaml:"environment_file,omitempty"`
	Secrets         []string          `yaml:"secrets,omitempty"`
	Labels          map[string]string `yaml:"labels,omitempty"`
	Annotations     map[string]string `yaml:"annotations,omitempty"`
	Constraints     []string          `yaml:"constraints,omitempty"`
	Limits          *Resources        `yaml:"limits,omitempty"`
	Requests        *Resources        `yaml:"requests,omitempty"`
	// ReadOnlyRootFilesystem maps to `readonly_root_filesystem`.
	ReadOnlyRootFilesystem bool              `yaml:"readonly_root_filesystem,omitempty"`
	BuildOptions           []string          `yaml:"build_options,omitempty"`
	BuildArgs              map[string]string `yaml:"build_args,omitempty"`
	BuildSecrets           map[string]string `yaml:"build_secrets,omitempty"`
	Platforms              string            `yaml:"platforms,omitempty"`
}

// Resources holds Kubernetes-style quantities for `limits` and `requests`.
type Resources struct {
	Memory    string `yaml:"memory,omitempty"`
	CPU       string `yaml:"cpu,omitempty"`
	NvidiaGPU string `yaml:"nvidia.com/gpu,omitempty"`
	AMDGPU    string `yaml:"amd.com/gpu,omitempty"`
	IntelGPU  string `yaml:"intel.com/gpu,omitempty"`
}

// Configuration is the stack's `configuration` section.
type Configuration struct {
	Templates []TemplateSource `yaml:"templates,omitempty"`
	// Copy lists extra paths copied into each build context.
	Copy []string `yaml:"copy,omitempty"`
}

// TemplateSource names a template and, optionally, where to fetch it.
type TemplateSource struct {
	Name   string `yaml:"name"`
	Source string `yaml:"source,omitempty"`
}

// ParseOptions controls ParseFile.
type ParseOptions struct {
	// EnvSubst enables ${VAR} and ${VAR:-default} substitution over the file.
	EnvSubst bool
	// Env looks up a variable; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

// DefaultParseOptions returns the faas-cli defaults: substitution on, process environment.
func DefaultParseOptions() ParseOptions { return ParseOptions{EnvSubst: true} }
