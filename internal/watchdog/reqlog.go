package watchdog

import (
	"io"
	"sync"
	"time"
)

// maxLogBatch is the size at which batched request lines are written at once.
const maxLogBatch = 16 << 10

// requestLog batches the per-request log lines of the non-classic modes.
//
// Each line written on its own costs the watchdog a write and, when Stderr
// is a pipe to fjord serve, costs the daemon a wake-up, a read and a write
// into its log store: about a tenth of the syscalls of a proxied call
// (measured with perf trace on the daemon at one connection). Batching
// for a few milliseconds turns that into one write per batch. Lines keep
// their order among themselves; against other Stderr output they may be up
// to the delay late.
type requestLog struct {
	dst   io.Writer
	delay time.Duration

	mu    sync.Mutex
	buf   []byte
	armed bool
	timer *time.Timer
}

func newRequestLog(dst io.Writer, delay time.Duration) *requestLog {
	return &requestLog{dst: dst, delay: delay}
}

// add queues one complete line; with no delay it is written at once.
func (l *requestLog) add(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.delay <= 0 {
		_, _ = l.dst.Write(line)
		return
	}
	l.buf = append(l.buf, line...)
	if len(l.buf) >= maxLogBatch {
		l.flushLocked()
		return
	}
	if l.armed {
		return
	}
	l.armed = true
	if l.timer == nil {
		l.timer = time.AfterFunc(l.delay, l.flush)
	} else {
		l.timer.Reset(l.delay)
	}
}

// flush writes what is queued; shutdown calls it so no line is lost.
func (l *requestLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *requestLog) flushLocked() {
	l.armed = false
	if len(l.buf) == 0 {
		return
	}
	_, _ = l.dst.Write(l.buf)
	if cap(l.buf) > 4*maxLogBatch {
		l.buf = nil
		return
	}
	l.buf = l.buf[:0]
}
