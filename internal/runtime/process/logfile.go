package process

import (
	"bufio"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// logFile is one replica's log file behind a write buffer and its own lock,
// so replicas never wait for each other's log writes.
type logFile struct {
	mu     sync.Mutex
	base   string // path without the .log suffix
	f      *os.File
	w      *bufio.Writer
	size   int64
	closed bool
	stamp  [len(time.RFC3339Nano) + 8]byte
}

// write buffers e, rotating the file once it reached max, and flushes when
// asked to. It returns false when the file was closed (the caller looks it up
// again); a line that cannot be written is dropped.
func (lf *logFile) write(e runtime.LogEntry, max int64, flush bool) bool {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return false
	}
	if lf.f != nil && lf.size >= max {
		lf.closeFile()
		os.Rename(lf.base+logSuffix, lf.base+rotatedSuffix)
	}
	if lf.f == nil && !lf.open() {
		return true
	}
	ts := e.Time.AppendFormat(lf.stamp[:0], time.RFC3339Nano)
	ts = append(ts, ' ')
	n, _ := lf.w.Write(ts)
	m, _ := lf.w.WriteString(e.Text)
	lf.size += int64(n + m)
	if flush {
		lf.w.Flush()
	}
	return true
}

func (lf *logFile) open() bool {
	if err := os.MkdirAll(filepath.Dir(lf.base), 0o750); err != nil {
		return false
	}
	f, err := os.OpenFile(lf.base+logSuffix, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return false
	}
	lf.f, lf.size = f, st.Size()
	if lf.w == nil {
		lf.w = bufio.NewWriterSize(f, logWriteBuffer)
	} else {
		lf.w.Reset(f)
	}
	return true
}

// flush writes out the buffered lines.
func (lf *logFile) flush() {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.f != nil {
		lf.w.Flush()
	}
}

// close flushes and closes the file for good.
func (lf *logFile) close() {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	lf.closed = true
	lf.closeFile()
}

func (lf *logFile) closeFile() {
	if lf.f == nil {
		return
	}
	lf.w.Flush()
	lf.f.Close()
	lf.f = nil
}
