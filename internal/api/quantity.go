package api

import (
	"fmt"
	"strconv"
	"strings"
)

var memSuffixes = []struct {
	s string
	m int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	{"m", 1 << 20}, {"g", 1 << 30}, // Docker-style lower-case units (128m = 128 MiB)
}

// ParseMemory parses "128Mi", "128M", "128m" (Docker style, MiB), "1Gi" or a byte
// count. An empty string is 0 (no limit).
func ParseMemory(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := s
	for _, suf := range memSuffixes {
		if strings.HasSuffix(s, suf.s) {
			mult, num = suf.m, strings.TrimSuffix(s, suf.s)
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%w: memory quantity %q is not like 128Mi, 128m or 1Gi", ErrInvalid, s)
	}
	return int64(f * float64(mult)), nil
}

// ParseCPU parses "100m" or "0.5" into millicores. An empty string is 0 (no limit).
func ParseCPU(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "m") {
		n, err := strconv.ParseInt(strings.TrimSuffix(s, "m"), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: cpu quantity %q is not like 100m or 0.5", ErrInvalid, s)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%w: cpu quantity %q is not like 100m or 0.5", ErrInvalid, s)
	}
	return int64(f * 1000), nil
}
