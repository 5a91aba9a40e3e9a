package router

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkServeFunction compares a call through the router with a direct call
// to the same replica; the difference is the gateway's added latency.
// go test ./internal/router -run '^$' -bench ServeFunction -benchtime 5000x
func BenchmarkServeFunction(b *testing.B) {
	h := newHarness(b, 10*time.Second)
	up := h.upstream(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, bc := range []struct{ name, url string }{
		{"direct", up.URL + "/"},
		{"router", h.srv.URL + "/function/fn.openfaas-fn"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				resp, err := client.Get(bc.url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		})
	}
}
