// Package api holds fjord's own definitions of the OpenFaaS gateway wire types
// (see shared/openfaas-api.md) and their validation.
package api

import (
	"encoding/json"
	"time"
)

// DefaultNamespace always exists and is used when a request names none.
const DefaultNamespace = "openfaas-fn"

// SecretMountPath is where a function finds the secrets it lists.
const SecretMountPath = "/var/openfaas/secrets"

// FunctionResources holds Kubernetes-style quantities ("128Mi", "100m", "0.5").
type FunctionResources struct {
	Memory    string `json:"memory,omitempty"`
	CPU       string `json:"cpu,omitempty"`
	NvidiaGPU string `json:"nvidia.com/gpu,omitempty"`
	AMDGPU    string `json:"amd.com/gpu,omitempty"`
	IntelGPU  string `json:"intel.com/gpu,omitempty"`
}

// IsZero reports whether no resource is set.
func (r *FunctionResources) IsZero() bool { return r == nil || *r == (FunctionResources{}) }

// FunctionDeployment is the body of POST/PUT /system/functions.
type FunctionDeployment struct {
	Service                string             `json:"service"`
	Image                  string             `json:"image"`
	Namespace              string             `json:"namespace,omitempty"`
	EnvProcess             string             `json:"envProcess,omitempty"`
	EnvVars                map[string]string  `json:"envVars,omitempty"`
	Constraints            []string           `json:"constraints,omitempty"`
	Secrets                []string           `json:"secrets,omitempty"`
	Labels                 *map[string]string `json:"labels,omitempty"`
	Annotations            *map[string]string `json:"annotations,omitempty"`
	Limits                 *FunctionResources `json:"limits,omitempty"`
	Requests               *FunctionResources `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool               `json:"readOnlyRootFilesystem,omitempty"`
}

// LabelMap returns the labels as a map, never nil.
func (d *FunctionDeployment) LabelMap() map[string]string { return mapOf(d.Labels) }

// AnnotationMap returns the annotations as a map, never nil.
func (d *FunctionDeployment) AnnotationMap() map[string]string { return mapOf(d.Annotations) }

func mapOf(p *map[string]string) map[string]string {
	if p == nil || *p == nil {
		return map[string]string{}
	}
	return *p
}

// FunctionUsage is reported for ?usage=1.
type FunctionUsage struct {
	CPU              float64 `json:"cpu"`
	TotalMemoryBytes float64 `json:"totalMemoryBytes"`
}

// FunctionStatus is returned by GET /system/function/NAME and GET /system/functions.
// Labels and Annotations are plain maps so that they always serialise as objects.
type FunctionStatus struct {
	Name                   string             `json:"name"`
	Image                  string             `json:"image"`
	Namespace              string             `json:"namespace,omitempty"`
	EnvProcess             string             `json:"envProcess,omitempty"`
	EnvVars                map[string]string  `json:"envVars,omitempty"`
	Constraints            []string           `json:"constraints,omitempty"`
	Secrets                []string           `json:"secrets,omitempty"`
	Labels                 map[string]string  `json:"labels"`
	Annotations            map[string]string  `json:"annotations"`
	Limits                 *FunctionResources `json:"limits,omitempty"`
	Requests               *FunctionResources `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool               `json:"readOnlyRootFilesystem,omitempty"`
	InvocationCount        float64            `json:"invocationCount,omitempty"`
	Replicas               uint64             `json:"replicas,omitempty"`
	AvailableReplicas      uint64             `json:"availableReplicas,omitempty"`
	CreatedAt              time.Time          `json:"createdAt"`
	Usage                  *FunctionUsage     `json:"usage,omitempty"`
	// Instances is a fjord extension on GET /system/function/NAME: each replica's
	// state, restarts and last problem (e.g. "OOM killed").
	Instances []InstanceStatus `json:"instances,omitempty"`
	// Message is a fjord extension: a function-level problem the runtime reports,
	// e.g. an image that cannot be pulled.
	Message string `json:"message,omitempty"`
}

// InstanceStatus is one replica as the runtime sees it (fjord extension).
type InstanceStatus struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Restarts  int       `json:"restarts,omitempty"`
	Message   string    `json:"message,omitempty"`
	StartedAt time.Time `json:"startedAt"`
}

// DeleteFunctionRequest is the body of DELETE /system/functions.
type DeleteFunctionRequest struct {
	FunctionName string `json:"functionName"`
	Namespace    string `json:"namespace,omitempty"`
}

// ScaleServiceRequest is the body of POST /system/scale-function/NAME.
type ScaleServiceRequest struct {
	ServiceName string `json:"serviceName"`
	Replicas    uint64 `json:"replicas"`
	Namespace   string `json:"namespace,omitempty"`
}

// Secret is the body of the /system/secrets calls. RawValue wins when non-empty.
type Secret struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
	RawValue  []byte `json:"rawValue,omitempty"`
}

// Bytes returns the secret's content: RawValue if set, else Value.
func (s *Secret) Bytes() []byte {
	if len(s.RawValue) > 0 {
		return s.RawValue
	}
	return []byte(s.Value)
}

// VersionInfo identifies a build.
type VersionInfo struct {
	CommitMessage string `json:"commit_message,omitempty"`
	SHA           string `json:"sha"`
	Release       string `json:"release"`
}

// ProviderInfo names the provider and its orchestration (the active runtime).
type ProviderInfo struct {
	Name          string       `json:"provider"`
	Version       *VersionInfo `json:"version"`
	Orchestration string       `json:"orchestration"`
}

// GatewayInfo is the body of GET /system/info.
type GatewayInfo struct {
	Provider *ProviderInfo `json:"provider"`
	Version  *VersionInfo  `json:"version"`
	Arch     string        `json:"arch"`
	// Runtime is a fjord extension: what the active runtime enforces.
	Runtime *RuntimeInfo `json:"runtime,omitempty"`
}

// RuntimeInfo tells whether functions are isolated and their limits enforced.
type RuntimeInfo struct {
	Isolation      string `json:"isolation"`
	LimitsEnforced bool   `json:"limitsEnforced"`
	LimitsReason   string `json:"limitsReason,omitempty"`
}

// FunctionNamespace is the body of the /system/namespace calls.
type FunctionNamespace struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// LogMessage is one NDJSON line of GET /system/logs.
type LogMessage struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text"`
}

// DeadLetter is an async call that failed for good: out of attempts, or
// answered with a status that is not retried. GET /system/async/dead-letters
// lists them [fjord ext].
type DeadLetter struct {
	// ID names the entry for replay and remove.
	ID string `json:"id"`
	// Function and Namespace name the function called.
	Function  string `json:"function"`
	Namespace string `json:"namespace"`
	// Status is the last status the call got (503: no replica answered).
	Status int `json:"status"`
	// Attempts is the number of calls made.
	Attempts int `json:"attempts"`
	// Error describes the last failure.
	Error string `json:"error"`
	// Time is when the call was dead-lettered.
	Time time.Time `json:"time"`
	// Message is the queued call as the queue stores it (the body in base64).
	Message json.RawMessage `json:"message,omitempty"`
}
