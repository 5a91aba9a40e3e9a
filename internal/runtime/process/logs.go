package process

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

const (
	logSuffix     = ".log"
	rotatedSuffix = ".log.1"
	maxLineBytes  = 64 << 10
	followBuffer  = 1024
	// logWriteBuffer batches the lines of one replica into one write when it
	// prints faster than they are read.
	logWriteBuffer = 8 << 10
)

// logStore keeps the log files of one function's replicas and fans new lines
// out to followers. A line is stored as "<RFC3339Nano time> <text>".
//
// Locks, always taken in this order: mu (read-locked by appends, which may run
// at once for different replicas; write-locked by queries, subscriptions and
// close, so that a query sees every line that no follower it adds will get),
// then filesMu (the files map only), then one file's own lock.
type logStore struct {
	dir    string
	max    int64
	mu     sync.RWMutex
	subs   map[*logSub]struct{}
	closed bool

	filesMu sync.Mutex
	files   map[string]*logFile
}

type logSub struct {
	instance string
	ch       chan runtime.LogEntry
}

func newLogStore(dir string, max int64) *logStore {
	return &logStore{dir: dir, max: max, files: map[string]*logFile{}, subs: map[*logSub]struct{}{}}
}

// consume reads a replica's output line by line until EOF. Lines are written
// through a buffer that is flushed whenever the pipe has nothing more queued,
// so a burst costs one write and a quiet replica's lines are on disk at once.
func (s *logStore) consume(r io.Reader, instance string) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := string(line)
			if !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			s.add(runtime.LogEntry{Instance: instance, Time: time.Now().UTC(), Text: text}, br.Buffered() == 0)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// append stores e at once and hands it to followers.
func (s *logStore) append(e runtime.LogEntry) { s.add(e, true) }

// add stores e (flushing its file when flush is set) and hands it to
// followers; a follower that lags loses lines rather than blocking the replica.
func (s *logStore) add(e runtime.LogEntry, flush bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	s.write(e, flush) // a failed write still reaches followers
	for sub := range s.subs {
		if sub.instance != "" && sub.instance != e.Instance {
			continue
		}
		select {
		case sub.ch <- e:
		default:
		}
	}
}

func (s *logStore) write(e runtime.LogEntry, flush bool) {
	for range 2 { // a file closed under us is looked up (and reopened) once more
		if s.file(e.Instance).write(e, s.max, flush) {
			return
		}
	}
}

// file returns the instance's log file, created (not yet opened) on first use.
func (s *logStore) file(instance string) *logFile {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	lf := s.files[instance]
	if lf == nil {
		lf = &logFile{base: filepath.Join(s.dir, instance)}
		s.files[instance] = lf
	}
	return lf
}

// flushAll writes out every buffered line; called with mu write-locked.
func (s *logStore) flushAll() {
	s.filesMu.Lock()
	defer s.filesMu.Unlock()
	for _, lf := range s.files {
		lf.flush()
	}
}

// closeInstance closes a stopped replica's file; its lines stay readable.
func (s *logStore) closeInstance(instance string) {
	s.filesMu.Lock()
	lf := s.files[instance]
	delete(s.files, instance)
	s.filesMu.Unlock()
	if lf != nil {
		lf.close()
	}
}

// close ends every follower and closes the files; remove deletes them too.
func (s *logStore) close(remove bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.filesMu.Lock()
	for _, lf := range s.files {
		lf.close()
	}
	s.files = map[string]*logFile{}
	s.filesMu.Unlock()
	for sub := range s.subs {
		close(sub.ch)
		delete(s.subs, sub)
	}
	if !remove {
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove logs: %w", err)
	}
	return nil
}

func (s *logStore) unsubscribe(sub *logSub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub]; ok {
		close(sub.ch)
		delete(s.subs, sub)
	}
}
