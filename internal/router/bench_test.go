package router

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
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
	upAddr := up.Listener.Addr().String()
	for _, bc := range []struct {
		name, url string
		ep        runtime.Endpoint
	}{
		{"direct", up.URL + "/", runtime.Endpoint{}},
		{"router", h.srv.URL + "/function/fn.openfaas-fn", runtime.Endpoint{ID: "r1", Address: upAddr}},
		// The same replica as an Endpoint.Direct: the router adds X-Duration-Seconds.
		{"router-direct-ep", h.srv.URL + "/function/fn.openfaas-fn", runtime.Endpoint{ID: "r1", Address: "127.0.0.1:1", Direct: upAddr}},
	} {
		if bc.ep.ID != "" {
			h.router.UpdateEndpoints(fnRef, []runtime.Endpoint{bc.ep})
		}
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
