package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/runtime"
)

// deadLetter stores a call that failed for good; it returns once stored.
func (q *Queue) deadLetter(ctx context.Context, m *Message, ref runtime.Ref, res result, attempts int) error {
	msg, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	dl := api.DeadLetter{
		Function: ref.Name, Namespace: ref.Namespace, Status: res.status, Attempts: attempts,
		Error: res.err, Time: time.Now().UTC(), Message: msg,
	}
	data, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	if _, err := q.js.Publish(ctx, subjectDead, data); err != nil {
		return fmt.Errorf("store dead letter: %w", err)
	}
	q.metrics.deadLettered(ref.String())
	return nil
}

// DeadLetters lists the dead-lettered calls, oldest first; namespace "" lists all.
func (q *Queue) DeadLetters(ctx context.Context, namespace string) ([]api.DeadLetter, error) {
	out := []api.DeadLetter{}
	info, err := q.dead.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	if info.State.Msgs == 0 {
		return out, nil
	}
	cons, err := q.dead.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer func() {
		// Ordered consumers expire by themselves; deleting frees it now.
		if info := cons.CachedInfo(); info != nil {
			_ = q.dead.DeleteConsumer(context.WithoutCancel(ctx), info.Name)
		}
	}()
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		n := 0
		var last uint64
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			last = meta.Sequence.Stream
			dl, err := decodeDeadLetter(msg.Data(), last)
			if err != nil {
				q.log.Warn("skipping undecodable dead letter", "id", last, "err", err)
				continue
			}
			if namespace == "" || dl.Namespace == namespace {
				out = append(out, dl)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		if n == 0 || last >= info.State.LastSeq {
			return out, nil
		}
	}
}

func decodeDeadLetter(data []byte, seq uint64) (api.DeadLetter, error) {
	var dl api.DeadLetter
	if err := json.Unmarshal(data, &dl); err != nil {
		return dl, err
	}
	dl.ID = strconv.FormatUint(seq, 10)
	return dl, nil
}

// DeadLetter returns one dead-lettered call; api.ErrNotFound when there is none.
func (q *Queue) DeadLetter(ctx context.Context, id string) (api.DeadLetter, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || seq == 0 {
		return api.DeadLetter{}, fmt.Errorf("dead letter %q: %w", id, api.ErrNotFound)
	}
	raw, err := q.dead.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return api.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, api.ErrNotFound)
	}
	if err != nil {
		return api.DeadLetter{}, fmt.Errorf("read dead letter %s: %w", id, err)
	}
	return decodeDeadLetter(raw.Data, seq)
}

// Replay queues a dead-lettered call again (same call id, attempts start
// over) and removes it from the dead letters.
func (q *Queue) Replay(ctx context.Context, id string) error {
	dl, err := q.DeadLetter(ctx, id)
	if err != nil {
		return err
	}
	var m Message
	if err := json.Unmarshal(dl.Message, &m); err != nil {
		return fmt.Errorf("decode dead letter %s: %w", id, err)
	}
	if err := q.Enqueue(ctx, &m); err != nil {
		return err
	}
	return q.DeleteDeadLetter(ctx, id)
}

// DeleteDeadLetter removes a dead-lettered call; api.ErrNotFound when there is none.
func (q *Queue) DeleteDeadLetter(ctx context.Context, id string) error {
	dl, err := q.DeadLetter(ctx, id)
	if err != nil {
		return err
	}
	seq, _ := strconv.ParseUint(dl.ID, 10, 64)
	if err := q.dead.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("delete dead letter %s: %w", id, err)
	}
	return nil
}
