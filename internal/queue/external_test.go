package queue

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
)

// TestExternalServer runs the queue against a NATS server reached over TCP,
// as with `fjord serve --nats-url`.
func TestExternalServer(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	cfg := Default()
	cfg.URL = ns.ClientURL()
	cfg.Functions = fakeFunctions{"fn.openfaas-fn": {}}
	cfg.Registry = prometheus.NewRegistry()
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	gw := &fakeGateway{answer: reply(http.StatusOK, "external")}
	q.StartWorkers(gw)
	cb := newCallbacks(t)
	if err := q.Enqueue(context.Background(), message("fn", cb.srv.URL)); err != nil {
		t.Fatal(err)
	}
	if got := cb.next(t); got.body != "external" || got.header.Get(HeaderFunctionStatus) != "200" {
		t.Fatalf("callback: %+v", got)
	}
}

// TestLargestBody: a body at the configured limit fits in one message, and a
// message over the server's payload limit is ErrTooLarge.
func TestLargestBody(t *testing.T) {
	gw := &fakeGateway{answer: reply(http.StatusOK, "big")}
	q := startQueue(t, t.TempDir(), fakeFunctions{"fn.openfaas-fn": {}}, gw)
	cb := newCallbacks(t)
	m := message("fn", cb.srv.URL)
	m.Body = bytes.Repeat([]byte{0xff}, DefaultMaxBody)
	if err := q.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	cb.next(t)
	if got := gw.call(0).body; got != string(m.Body) {
		t.Fatalf("the function got %d bytes, want %d", len(got), len(m.Body))
	}
	m.Body = bytes.Repeat([]byte{0xff}, 2*DefaultMaxBody)
	if err := q.Enqueue(context.Background(), m); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a message over the payload limit: %v, want ErrTooLarge", err)
	}
}
