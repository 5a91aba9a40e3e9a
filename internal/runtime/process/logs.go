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
)

// logStore keeps the log files of one function's replicas and fans new lines
// out to followers. A line is stored as "<RFC3339Nano time> <text>".
type logStore struct {
	dir    string
	max    int64
	mu     sync.Mutex
	files  map[string]*logFile
	subs   map[*logSub]struct{}
	closed bool
}

type logFile struct {
	f    *os.File
	size int64
}

type logSub struct {
	instance string
	ch       chan runtime.LogEntry
}

func newLogStore(dir string, max int64) *logStore {
	return &logStore{dir: dir, max: max, files: map[string]*logFile{}, subs: map[*logSub]struct{}{}}
}

// consume reads a replica's output line by line until EOF.
func (s *logStore) consume(r io.Reader, instance string) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := string(line)
			if !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			s.append(runtime.LogEntry{Instance: instance, Time: time.Now().UTC(), Text: text})
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// append stores e and hands it to followers; a follower that lags loses lines
// rather than blocking the replica.
func (s *logStore) append(e runtime.LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.write(e) // a failed write still reaches followers
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

func (s *logStore) write(e runtime.LogEntry) {
	lf := s.files[e.Instance]
	if lf == nil || lf.size >= s.max {
		if lf != nil {
			lf.f.Close()
			base := filepath.Join(s.dir, e.Instance)
			os.Rename(base+logSuffix, base+rotatedSuffix)
		}
		lf = s.open(e.Instance)
		if lf == nil {
			delete(s.files, e.Instance)
			return
		}
		s.files[e.Instance] = lf
	}
	n, _ := lf.f.WriteString(e.Time.Format(time.RFC3339Nano) + " " + e.Text)
	lf.size += int64(n)
}

func (s *logStore) open(instance string) *logFile {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(s.dir, instance+logSuffix), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil
	}
	return &logFile{f: f, size: st.Size()}
}

// closeInstance closes a stopped replica's file; its lines stay readable.
func (s *logStore) closeInstance(instance string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lf := s.files[instance]; lf != nil {
		lf.f.Close()
		delete(s.files, instance)
	}
}

// close ends every follower and closes the files; remove deletes them too.
func (s *logStore) close(remove bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, lf := range s.files {
		lf.f.Close()
	}
	s.files = map[string]*logFile{}
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
