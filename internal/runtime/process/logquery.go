package process

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// snapshotFile is a log file opened at query time, read up to the size it had then.
type snapshotFile struct {
	instance string
	f        *os.File
	size     int64
}

// query returns the stored lines matching q and, when q.Follow, a subscription
// that receives every line appended after them (no line is lost or repeated).
func (s *logStore) query(q runtime.LogQuery) ([]runtime.LogEntry, *logSub) {
	s.mu.Lock()
	s.flushAll() // buffered lines are "written so far" too
	snaps := s.snapshot(q.Instance)
	var sub *logSub
	if q.Follow && !s.closed {
		sub = &logSub{instance: q.Instance, ch: make(chan runtime.LogEntry, followBuffer)}
		s.subs[sub] = struct{}{}
	}
	s.mu.Unlock()

	var entries []runtime.LogEntry
	for _, sf := range snaps {
		entries = append(entries, readEntries(sf, q.Since)...)
		sf.f.Close()
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Time.Before(entries[j].Time) })
	if q.Tail > 0 && len(entries) > q.Tail {
		entries = entries[len(entries)-q.Tail:]
	}
	return entries, sub
}

// snapshot opens the matching files, rotated ones first; called with s.mu held.
func (s *logStore) snapshot(instance string) []snapshotFile {
	names, _ := filepath.Glob(filepath.Join(s.dir, "*"+logSuffix+"*"))
	sort.Slice(names, func(i, j int) bool { return names[i] > names[j] }) // x.log.1 before x.log
	var out []snapshotFile
	for _, name := range names {
		base := filepath.Base(name)
		inst, ok := strings.CutSuffix(base, rotatedSuffix)
		if !ok {
			if inst, ok = strings.CutSuffix(base, logSuffix); !ok {
				continue
			}
		}
		if instance != "" && inst != instance {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		out = append(out, snapshotFile{instance: inst, f: f, size: st.Size()})
	}
	return out
}

func readEntries(sf snapshotFile, since time.Time) []runtime.LogEntry {
	var out []runtime.LogEntry
	br := bufio.NewReaderSize(io.LimitReader(sf.f, sf.size), maxLineBytes+64)
	for {
		line, err := br.ReadString('\n')
		if ts, text, ok := strings.Cut(line, " "); ok && strings.HasSuffix(text, "\n") {
			t, perr := time.Parse(time.RFC3339Nano, ts)
			if perr == nil && (since.IsZero() || t.After(since)) {
				out = append(out, runtime.LogEntry{Instance: sf.instance, Time: t, Text: text})
			}
		}
		if err != nil {
			return out
		}
	}
}

// stream sends entries, then (when sub is set) followed lines, until ctx ends.
func stream(ctx context.Context, s *logStore, entries []runtime.LogEntry, sub *logSub, out chan<- runtime.LogEntry) {
	defer close(out)
	if sub != nil {
		defer s.unsubscribe(sub)
	}
	for _, e := range entries {
		select {
		case out <- e:
		case <-ctx.Done():
			return
		}
	}
	if sub == nil {
		return
	}
	for {
		select {
		case e, ok := <-sub.ch:
			if !ok {
				return
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
