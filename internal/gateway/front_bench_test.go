package gateway

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkFrontCall is one function call at a time through the started
// gateway (front → router fast path → replica) on one raw keep-alive
// connection. Allocations include the replica's (an httptest server).
// go test ./internal/gateway -run '^$' -bench FrontCall -benchmem
func BenchmarkFrontCall(b *testing.B) {
	g := frontGateway(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	rc := g.dial(b)
	req := []byte("GET /function/fn HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rc.c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(rc.br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
