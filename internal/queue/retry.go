package queue

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry annotations and their defaults (contract section 9, OpenFaaS Pro names).
const (
	AnnotationRetryCodes    = "com.openfaas.retry.codes"
	AnnotationRetryAttempts = "com.openfaas.retry.attempts"
	AnnotationRetryMinWait  = "com.openfaas.retry.min_wait"
	AnnotationRetryMaxWait  = "com.openfaas.retry.max_wait"

	defaultRetryCodes    = "429,502,500,504,408"
	defaultRetryAttempts = 10
	defaultMinWait       = 10 * time.Second
	defaultMaxWait       = 120 * time.Second
	// maxRetryAfter caps a function's Retry-After.
	maxRetryAfter = time.Hour
)

// Policy is a function's retry policy.
type Policy struct {
	// Codes are the statuses that are retried (transport errors always are).
	Codes []int
	// Attempts is the most calls made for one message, at least 1.
	Attempts int
	// MinWait and MaxWait bound the exponential back-off.
	MinWait, MaxWait time.Duration
}

// PolicyOf reads the retry annotations; a missing or unparseable value takes
// its default. attempts 0 means a single call, no retry.
func PolicyOf(annotations map[string]string) Policy {
	p := Policy{Attempts: defaultRetryAttempts, MinWait: defaultMinWait, MaxWait: defaultMaxWait}
	codes, ok := parseCodes(annotations[AnnotationRetryCodes])
	if !ok {
		codes, _ = parseCodes(defaultRetryCodes)
	}
	p.Codes = codes
	if n, err := strconv.Atoi(strings.TrimSpace(annotations[AnnotationRetryAttempts])); err == nil && n >= 0 {
		p.Attempts = n
	}
	p.Attempts = max(p.Attempts, 1)
	if d, ok := parseWait(annotations[AnnotationRetryMinWait]); ok {
		p.MinWait = d
	}
	if d, ok := parseWait(annotations[AnnotationRetryMaxWait]); ok {
		p.MaxWait = d
	}
	p.MaxWait = max(p.MaxWait, p.MinWait)
	return p
}

func parseCodes(s string) ([]int, bool) {
	if strings.TrimSpace(s) == "" {
		return nil, false
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 100 || n > 999 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// parseWait reads a Go duration or whole seconds.
func parseWait(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// Retries reports whether a status is retried.
func (p Policy) Retries(status int) bool {
	for _, c := range p.Codes {
		if c == status {
			return true
		}
	}
	return false
}

// Backoff is the wait after the attempt-th failed call (1-based):
// MinWait doubled per attempt, at most MaxWait.
func (p Policy) Backoff(attempt int) time.Duration {
	d := p.MinWait
	for i := 1; i < attempt && d < p.MaxWait; i++ {
		d *= 2
	}
	return min(d, p.MaxWait)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) of a 429 or
// 503 answer; ok is false when there is none to honour.
func retryAfter(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0, false
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}
