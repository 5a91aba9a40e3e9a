package stack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFiles are tried in order when no stack file is named.
var defaultFiles = []string{"stack.yaml", "stack.yml"}

// ErrNoStackFile is returned by FindFile when neither default file exists.
var ErrNoStackFile = errors.New("no stack.yaml or stack.yml found")

// FindFile returns the stack file to use in dir: stack.yaml, else stack.yml.
func FindFile(dir string) (string, error) {
	for _, name := range defaultFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoStackFile
}

// ParseFile reads and parses a stack file, merging each function's
// environment_file entries (resolved relative to the stack file's directory).
func ParseFile(path string, opts ParseOptions) (*Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	st, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st.Path = path
	if err := st.mergeEnvFiles(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Parse parses stack YAML. environment_file entries are not read here; ParseFile does that.
func Parse(data []byte, opts ParseOptions) (*Stack, error) {
	if opts.EnvSubst {
		lookup := opts.Env
		if lookup == nil {
			lookup = os.LookupEnv
		}
		text, err := substitute(string(data), lookup)
		if err != nil {
			return nil, fmt.Errorf("substitute environment: %w", err)
		}
		data = []byte(text)
	}
	var st Stack
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	for name, fn := range st.Functions {
		fn.Name = name
		if strings.EqualFold(fn.Lang, "dockerfile") {
			fn.Lang = "dockerfile"
		}
		st.Functions[name] = fn
	}
	return &st, nil
}

func (st *Stack) validate() error {
	if st.Version != "" && st.Version != "1.0" {
		return fmt.Errorf("unsupported stack version %q, only \"1.0\" is accepted", st.Version)
	}
	switch st.Provider.Name {
	case "openfaas", "fjord":
	case "":
		return errors.New("provider.name is required and must be \"openfaas\"")
	default:
		return fmt.Errorf("provider.name %q is not supported, use \"openfaas\"", st.Provider.Name)
	}
	for name, fn := range st.Functions {
		if name == "" {
			return errors.New("a function has an empty name")
		}
		if fn.Image == "" && fn.Lang == "" {
			return fmt.Errorf("function %q: image is required", name)
		}
	}
	return nil
}

// envFile is the shape of an environment_file: a top-level `environment` map.
type envFile struct {
	Environment map[string]string `yaml:"environment"`
}

func (st *Stack) mergeEnvFiles(dir string) error {
	for name, fn := range st.Functions {
		for _, f := range fn.EnvironmentFile {
			p := f
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("function %q: read environment_file: %w", name, err)
			}
			var ef envFile
			if err := yaml.Unmarshal(data, &ef); err != nil {
				return fmt.Errorf("function %q: parse environment_file %s: %w", name, f, err)
			}
			if fn.Environment == nil && len(ef.Environment) > 0 {
				fn.Environment = map[string]string{}
			}
			for k, v := range ef.Environment {
				fn.Environment[k] = v
			}
		}
		st.Functions[name] = fn
	}
	return nil
}
