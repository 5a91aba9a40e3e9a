package watchdog

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkHTTPMode compares calling the upstream directly with calling it
// through an http-mode watchdog; the difference is the watchdog's overhead.
// Run: go test -run '^$' -bench HTTPMode -benchmem ./internal/watchdog/
func BenchmarkHTTPMode(b *testing.B) {
	h := startHTTP(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	targets := []struct{ name, url string }{
		{"direct", h.w.proxy.target.String() + "/echo"},
		{"watchdog", h.url + "/echo"},
	}
	for _, tt := range targets {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				res, err := client.Post(tt.url, "text/plain", strings.NewReader("ping"))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
