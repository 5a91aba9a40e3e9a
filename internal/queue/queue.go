package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// JetStream names. The calls stream is a work queue: a message is removed
// once a worker acknowledges it.
const (
	streamCalls   = "FJORD_ASYNC"
	subjectCalls  = "fjord.async.calls"
	streamDead    = "FJORD_ASYNC_DEAD"
	subjectDead   = "fjord.async.dead"
	consumerName  = "fjord-workers"
	maxAckPending = 1 << 16
)

// ErrTooLarge is returned by Enqueue for a message over the server's payload limit.
var ErrTooLarge = errors.New("async call too large for the queue")

// Queue is the async call queue. Enqueue and the dead-letter methods are safe
// for concurrent use once Start has returned.
type Queue struct {
	cfg     Config
	log     *slog.Logger
	metrics *queueMetrics
	client  *http.Client

	ns    *server.Server // nil with an external server
	nc    *nats.Conn
	js    jetstream.JetStream
	calls jetstream.Stream
	dead  jetstream.Stream
	cons  jetstream.Consumer

	handler  http.Handler
	inflight inflight
	settings settingsCache
	stop     context.CancelFunc // stops taking messages
	abort    context.CancelFunc // cancels running calls
	hard     context.Context
	wg       sync.WaitGroup
}

// New checks the configuration and registers the metrics; it starts nothing.
func New(cfg Config) (*Queue, error) {
	def := Default()
	if cfg.AckWait == 0 {
		cfg.AckWait = def.AckWait
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = def.UserAgent
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{cfg: cfg, log: log.With("component", "queue"), client: cfg.Callback}
	if q.client == nil {
		q.client = &http.Client{Timeout: 30 * time.Second}
	}
	q.metrics = newMetrics(cfg.Registry, q.depth)
	return q, nil
}

// Start runs the embedded server (or connects to the external one) and
// creates the streams and the workers' durable consumer. Workers start with
// StartWorkers.
func (q *Queue) Start(ctx context.Context) error {
	var err error
	if q.cfg.URL != "" {
		q.nc, err = connectExternal(q.cfg.URL, q.log)
	} else {
		q.ns, q.nc, err = startEmbedded(q.cfg, q.log.With("component", "nats"))
	}
	if err != nil {
		return err
	}
	if q.js, err = jetstream.New(q.nc); err != nil {
		return fmt.Errorf("open jetstream: %w", err)
	}
	if err := q.setup(ctx); err != nil {
		return err
	}
	where := "embedded, " + q.cfg.Dir
	if q.cfg.URL != "" {
		where = q.nc.ConnectedUrlRedacted()
	}
	q.log.Info("async queue ready", "server", where, "workers", q.cfg.Concurrency)
	return nil
}

func (q *Queue) setup(ctx context.Context) error {
	var err error
	q.calls, err = q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        streamCalls,
		Description: "fjord async calls",
		Subjects:    []string{subjectCalls},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  maxPayload(q.cfg.MaxBody),
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", streamCalls, err)
	}
	q.dead, err = q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        streamDead,
		Description: "fjord async calls that failed for good",
		Subjects:    []string{subjectDead},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxMsgSize:  maxPayload(q.cfg.MaxBody),
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", streamDead, err)
	}
	q.cons, err = q.calls.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "fjord async workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxDeliver:    -1, // attempts are counted by the worker, per function
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", consumerName, err)
	}
	return nil
}

// StartWorkers starts Concurrency workers that send each call to h, the
// gateway's root handler, as POST /function/….
func (q *Queue) StartWorkers(h http.Handler) {
	q.handler = h
	var take context.Context
	take, q.stop = context.WithCancel(context.Background())
	q.hard, q.abort = context.WithCancel(context.Background())
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.consume(take)
	}()
}

// Enqueue stores m durably: it returns once JetStream has acknowledged it.
func (q *Queue) Enqueue(ctx context.Context, m *Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode async call: %w", err)
	}
	if max := q.nc.MaxPayload(); int64(len(data)) > max {
		return fmt.Errorf("%w: %d bytes encoded, the server takes %d", ErrTooLarge, len(data), max)
	}
	if _, err := q.js.Publish(ctx, subjectCalls, data); err != nil {
		return fmt.Errorf("queue async call: %w", err)
	}
	name, ns := api.SplitQualified(m.Function)
	q.metrics.accepted(runtime.Ref{Name: name, Namespace: ns}.String())
	return nil
}

// Close stops taking messages and waits until ctx ends for the running calls;
// calls still running then are cancelled and handed back to JetStream, which
// redelivers them (after a restart, too). Then it closes the connection and
// the embedded server.
func (q *Queue) Close(ctx context.Context) error {
	if q.stop != nil {
		q.stop()
		done := make(chan struct{})
		go func() { q.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			q.abort()
			<-done
		}
		q.abort()
	}
	if q.nc != nil {
		if err := q.nc.Drain(); err != nil {
			q.nc.Close()
		}
		for i := 0; i < 100 && !q.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if q.ns != nil {
		q.ns.Shutdown()
		q.ns.WaitForShutdown()
	}
	return nil
}

// depth is the number of calls queued or running, for the gauge.
func (q *Queue) depth() float64 {
	if q.calls == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := q.calls.Info(ctx)
	if err != nil {
		return 0
	}
	return float64(info.State.Msgs)
}
