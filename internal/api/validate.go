package api

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalid marks a request that fails validation; the gateway answers 400.
var ErrInvalid = errors.New("invalid request")

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks a function or namespace name (DNS-1123 label, max 63).
func ValidateName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s name is required", ErrInvalid, kind)
	}
	if len(name) > 63 || !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %s name %q must be at most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit", ErrInvalid, kind, name)
	}
	return nil
}

// ValidateSecretName rejects empty names and names that could escape the secrets directory.
func ValidateSecretName(name string) error {
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "..") || name == "." {
		return fmt.Errorf("%w: secret name %q is empty or contains '/' or '..'", ErrInvalid, name)
	}
	return nil
}

// Validate checks a deployment and fills in the default namespace.
func (d *FunctionDeployment) Validate() error {
	if err := ValidateName("function", d.Service); err != nil {
		return err
	}
	if strings.TrimSpace(d.Image) == "" {
		return fmt.Errorf("%w: image is required", ErrInvalid)
	}
	if d.Namespace == "" {
		d.Namespace = DefaultNamespace
	}
	for _, s := range d.Secrets {
		if err := ValidateSecretName(s); err != nil {
			return err
		}
	}
	for _, r := range []*FunctionResources{d.Limits, d.Requests} {
		if r == nil {
			continue
		}
		if _, err := ParseMemory(r.Memory); err != nil {
			return err
		}
		if _, err := ParseCPU(r.CPU); err != nil {
			return err
		}
	}
	return nil
}

// Sentinel errors of the control plane, mapped to HTTP status in the gateway only.
var (
	// ErrNotFound: a function, secret or namespace does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrExists: the object already exists (409; 400 for a function POST).
	ErrExists = errors.New("already exists")
	// ErrUnknownNamespace: a /system/* call names a namespace that does not exist (400).
	ErrUnknownNamespace = fmt.Errorf("%w: unknown namespace", ErrInvalid)
)
