package process

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// TestLogBuffering checks the buffered log files: followers get each line at
// once, a query sees lines still in a buffer, and one replica's file lock
// never holds up another replica's lines.
func TestLogBuffering(t *testing.T) {
	t.Run("followers get lines at once", func(t *testing.T) {
		s := newLogStore(t.TempDir(), 1<<20)
		defer s.close(true)
		_, sub := s.query(runtime.LogQuery{Follow: true})
		pr, pw := io.Pipe()
		go s.consume(pr, "r1")
		defer pw.Close()
		for i := range 3 {
			line := "line " + strconv.Itoa(i) + "\n"
			if _, err := pw.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-sub.ch:
				if e.Text != line || e.Instance != "r1" {
					t.Fatalf("followed %+v, want %q", e, line)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("line %d not followed while the replica keeps its pipe open", i)
			}
			// The pipe is drained: the line is on disk for a plain query too.
			if got, _ := s.query(runtime.LogQuery{}); len(got) != i+1 {
				t.Fatalf("query after line %d saw %d lines", i, len(got))
			}
		}
	})
	t.Run("query flushes buffered lines", func(t *testing.T) {
		s := newLogStore(t.TempDir(), 1<<20)
		defer s.close(true)
		for i := range 50 {
			s.add(runtime.LogEntry{Instance: "r" + strconv.Itoa(i%2), Time: time.Now().UTC(), Text: "x" + strconv.Itoa(i) + "\n"}, false)
		}
		got, _ := s.query(runtime.LogQuery{})
		if len(got) != 50 {
			t.Fatalf("query saw %d of 50 buffered lines", len(got))
		}
		if one, _ := s.query(runtime.LogQuery{Instance: "r1", Tail: 1}); len(one) != 1 || one[0].Text != "x49\n" {
			t.Fatalf("tail of r1 = %+v", one)
		}
	})
	t.Run("burst in one read", func(t *testing.T) {
		s := newLogStore(t.TempDir(), 1<<20)
		defer s.close(true)
		burst := strings.Repeat("burst line\n", 500)
		s.consume(strings.NewReader(burst), "r1")
		if got, _ := s.query(runtime.LogQuery{}); len(got) != 500 {
			t.Fatalf("query saw %d of 500 lines", len(got))
		}
	})
	t.Run("replicas do not block each other", func(t *testing.T) {
		s := newLogStore(t.TempDir(), 1<<20)
		defer s.close(true)
		s.append(runtime.LogEntry{Instance: "slow", Time: time.Now().UTC(), Text: "a\n"})
		lf := s.file("slow")
		lf.mu.Lock() // a write of "slow" stuck in the kernel
		done := make(chan struct{})
		go func() {
			s.append(runtime.LogEntry{Instance: "fast", Time: time.Now().UTC(), Text: "b\n"})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a replica's line waited for another replica's file")
		}
		lf.mu.Unlock()
	})
}

// BenchmarkLogConsume stores request-log-like lines arriving in 20-line
// bursts (the watchdog batches its request lines) from 4 replicas at once.
// go test ./internal/runtime/process -short -run '^$' -bench LogConsume
func BenchmarkLogConsume(b *testing.B) {
	s := newLogStore(b.TempDir(), 1<<30)
	defer s.close(true)
	burst := strings.Repeat("2026/11/26 01:00:00 GET / - 200 OK - ContentLength: 0B (0.0001s)\n", 20)
	b.SetBytes(int64(len(burst)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		inst := "r" + strconv.FormatInt(time.Now().UnixNano(), 36)
		for pb.Next() {
			s.consume(strings.NewReader(burst), inst)
		}
	})
}
