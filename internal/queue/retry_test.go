package queue

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestPolicyOf(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want Policy
	}{
		{"defaults", nil, Policy{Codes: []int{429, 502, 500, 504, 408}, Attempts: 10, MinWait: 10 * time.Second, MaxWait: 120 * time.Second}},
		{"set", map[string]string{
			AnnotationRetryCodes: "503, 429", AnnotationRetryAttempts: "3",
			AnnotationRetryMinWait: "500ms", AnnotationRetryMaxWait: "2",
		}, Policy{Codes: []int{503, 429}, Attempts: 3, MinWait: 500 * time.Millisecond, MaxWait: 2 * time.Second}},
		{"zero attempts is one call", map[string]string{AnnotationRetryAttempts: "0"},
			Policy{Codes: []int{429, 502, 500, 504, 408}, Attempts: 1, MinWait: 10 * time.Second, MaxWait: 120 * time.Second}},
		{"garbage takes defaults", map[string]string{
			AnnotationRetryCodes: "5xx", AnnotationRetryAttempts: "-2", AnnotationRetryMinWait: "soon",
		}, Policy{Codes: []int{429, 502, 500, 504, 408}, Attempts: 10, MinWait: 10 * time.Second, MaxWait: 120 * time.Second}},
		{"max below min is raised", map[string]string{AnnotationRetryMinWait: "1m", AnnotationRetryMaxWait: "1s"},
			Policy{Codes: []int{429, 502, 500, 504, 408}, Attempts: 10, MinWait: time.Minute, MaxWait: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PolicyOf(tt.ann)
			if !slices.Equal(got.Codes, tt.want.Codes) || got.Attempts != tt.want.Attempts ||
				got.MinWait != tt.want.MinWait || got.MaxWait != tt.want.MaxWait {
				t.Fatalf("PolicyOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := Policy{MinWait: time.Second, MaxWait: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		status int
		value  string
		want   time.Duration
		ok     bool
	}{
		{429, "7", 7 * time.Second, true},
		{503, now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{503, now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{429, "999999", time.Hour, true},
		{500, "7", 0, false},
		{429, "", 0, false},
		{429, "later", 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := retryAfter(tt.status, h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%d, %q) = %v %v, want %v %v", tt.status, tt.value, got, ok, tt.want, tt.ok)
		}
	}
}
