package watchdog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// maxLine bounds how much of one output line is held before it is written anyway.
const maxLine = 64 << 10

// command builds the function process: its own process group (so a timeout
// kills its children too) and SIGKILL when the watchdog dies.
func (w *Watchdog) command(ctx context.Context, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.path, w.argv[1:]...)
	cmd.Args = w.argv
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd, syscall.SIGKILL) }
	// Grandchildren holding stdout open must not block the request forever.
	cmd.WaitDelay = time.Second
	return cmd
}

// killGroup signals the process group of a started command.
func killGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal process group: %w", err)
	}
	return nil
}

// lineWriter copies output line by line to dst, optionally prefixed with the
// date, time and stream name. Whole lines go out in one Write.
type lineWriter struct {
	mu     sync.Mutex
	dst    io.Writer
	stream string
	prefix bool
	buf    []byte // partial line
	line   []byte // scratch for one output line
}

func newLineWriter(dst io.Writer, stream string, prefix bool) *lineWriter {
	return &lineWriter{dst: dst, stream: stream, prefix: prefix}
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.buf = append(l.buf, p...)
			if len(l.buf) >= maxLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			break
		}
		if len(l.buf) > 0 {
			l.buf = append(l.buf, p[:i]...)
			l.emit(l.buf)
			l.buf = l.buf[:0]
		} else {
			l.emit(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// Close writes a trailing partial line.
func (l *lineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = l.buf[:0]
	}
	return nil
}

func (l *lineWriter) emit(s []byte) {
	l.line = l.line[:0]
	if l.prefix {
		l.line = time.Now().AppendFormat(l.line, "2006/01/02 15:04:05 ")
		l.line = append(l.line, l.stream...)
		l.line = append(l.line, ": "...)
	}
	l.line = append(l.line, s...)
	l.line = append(l.line, '\n')
	_, _ = l.dst.Write(l.line)
}

// child is the long-running function process of http mode.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done
}

// startChild starts fprocess once with its output copied line by line and
// extra as its fds 3, 4, ….
func (w *Watchdog) startChild(env []string, extra []*os.File) (*child, error) {
	cmd := w.command(context.Background(), env)
	cmd.Cancel = nil
	cmd.ExtraFiles = extra
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start function process %q: %w", w.cfg.Process, err)
	}
	go copyOutput(outR, newLineWriter(w.cfg.Stdout, "stdout", w.cfg.PrefixLogs))
	go copyOutput(errR, newLineWriter(w.cfg.Stderr, "stderr", w.cfg.PrefixLogs))
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	w.log.Info("function process started", "pid", cmd.Process.Pid, "fprocess", w.cfg.Process)
	return c, nil
}

func copyOutput(r *os.File, lw *lineWriter) {
	_, _ = io.Copy(lw, r)
	_ = lw.Close()
	_ = r.Close()
}

// stop asks the process group to end and kills it after grace.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = killGroup(c.cmd, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = killGroup(c.cmd, syscall.SIGKILL)
		<-c.done
	}
}
