package watchdog

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records each Write call separately.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *countingWriter) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

func TestRequestLog(t *testing.T) {
	big := strings.Repeat("x", maxLogBatch) + "\n"
	tests := []struct {
		name       string
		delay      time.Duration
		lines      []string
		wantWrites int // before any timer fires
	}{
		{name: "no delay writes each line", delay: 0, lines: []string{"a\n", "b\n"}, wantWrites: 2},
		{name: "batched until the timer", delay: time.Hour, lines: []string{"a\n", "b\n"}, wantWrites: 0},
		{name: "full batch is written at once", delay: time.Hour, lines: []string{"a\n", big}, wantWrites: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &countingWriter{}
			l := newRequestLog(w, tt.delay)
			for _, s := range tt.lines {
				l.add([]byte(s))
			}
			if got := len(w.snapshot()); got != tt.wantWrites {
				t.Fatalf("%d writes before flush, want %d", got, tt.wantWrites)
			}
			l.flush()
			if got := strings.Join(w.snapshot(), ""); got != strings.Join(tt.lines, "") {
				t.Errorf("after flush got %q, want the lines in order", got)
			}
		})
	}
}

func TestRequestLogTimerFlushes(t *testing.T) {
	w := &countingWriter{}
	l := newRequestLog(w, 5*time.Millisecond)
	for round := 0; round < 2; round++ {
		l.add([]byte("one\n"))
		l.add([]byte("two\n"))
		poll(t, 5*time.Second, func() bool { return len(w.snapshot()) == round+1 })
	}
	var all bytes.Buffer
	for _, s := range w.snapshot() {
		all.WriteString(s)
	}
	if all.String() != "one\ntwo\none\ntwo\n" {
		t.Errorf("got %q", all.String())
	}
}
