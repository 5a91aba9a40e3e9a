package api

import (
	"strconv"
	"strings"
	"time"
)

// Scaling labels (section 3.1 of the contract).
const (
	LabelScaleMin          = "com.openfaas.scale.min"
	LabelScaleMax          = "com.openfaas.scale.max"
	LabelScaleFactor       = "com.openfaas.scale.factor"
	LabelScaleZero         = "com.openfaas.scale.zero"
	LabelScaleZeroDuration = "com.openfaas.scale.zero-duration"
	LabelFaasFunction      = "faas_function"
	AnnotationReadyPath    = "com.openfaas.ready.http.path"
)

// Scaling defaults.
const (
	DefaultScaleMin          = 1
	DefaultScaleMax          = 20
	DefaultScaleFactor       = 20
	DefaultScaleZeroDuration = 15 * time.Minute
)

// ScaleConfig is the parsed scaling labels of a function.
type ScaleConfig struct {
	Min, Max, Factor int
	Zero             bool
	ZeroDuration     time.Duration
}

// ParseScale reads the scaling labels; an unparseable value falls back to its default.
func ParseScale(labels map[string]string) ScaleConfig {
	c := ScaleConfig{
		Min:          intLabel(labels, LabelScaleMin, DefaultScaleMin, 0),
		Max:          intLabel(labels, LabelScaleMax, DefaultScaleMax, 1),
		Factor:       intLabel(labels, LabelScaleFactor, DefaultScaleFactor, 0),
		ZeroDuration: DefaultScaleZeroDuration,
	}
	if c.Factor > 100 {
		c.Factor = DefaultScaleFactor
	}
	if c.Max < c.Min {
		c.Max = c.Min
	}
	c.Zero, _ = strconv.ParseBool(strings.TrimSpace(labels[LabelScaleZero]))
	if d, err := time.ParseDuration(strings.TrimSpace(labels[LabelScaleZeroDuration])); err == nil && d > 0 {
		c.ZeroDuration = d
	}
	return c
}

// InitialReplicas is the replica count a fresh deployment starts with.
func (c ScaleConfig) InitialReplicas() int { return c.Min }

// ClampReplicas limits a requested replica count to 0..Max.
func (c ScaleConfig) ClampReplicas(n uint64) int {
	if n > uint64(c.Max) {
		return c.Max
	}
	return int(n)
}

func intLabel(labels map[string]string, key string, def, lowest int) int {
	v, ok := labels[key]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lowest {
		return def
	}
	return n
}

// SplitQualified splits "name.namespace" on the last dot; with no dot the
// default namespace applies.
func SplitQualified(s string) (name, namespace string) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, DefaultNamespace
	}
	return s[:i], s[i+1:]
}
