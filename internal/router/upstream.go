package router

import (
	"bufio"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// upConn is one keep-alive HTTP/1.1 connection to a replica, used by one call
// at a time on the fast path.
type upConn struct {
	nc        net.Conn
	raw       syscall.RawConn // nil when nc has no file descriptor
	br        *bufio.Reader
	idleSince time.Time
	peekBuf   [1]byte
	peekErr   error
	peekFn    func(fd uintptr) bool // bound once: no allocation per check
}

// alive reports whether the replica has not closed (or written to) the idle
// connection, with one non-blocking MSG_PEEK. A keep-alive connection the
// replica closed while idle reads EOF; one with unexpected bytes is unusable.
func (c *upConn) alive() bool {
	return c.raw == nil || c.wouldBlock()
}

// wouldBlock reports, with one non-blocking MSG_PEEK on the raw conn, that
// nothing is there to read: no data, no end of stream, no error (EAGAIN).
func (c *upConn) wouldBlock() bool {
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekErr == syscall.EAGAIN
}

func (c *upConn) peek(fd uintptr) bool {
	_, _, c.peekErr = syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return true
}

// connPool holds one replica's idle fast-path connections. It lives in the
// endpoint and is closed when the endpoint leaves the function's set.
type connPool struct {
	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// idleTimeout drops pooled connections nobody used for this long.
const idleTimeout = 90 * time.Second

// checkAfter: a connection idle for longer is checked with alive before reuse.
// Function servers close idle keep-alive connections after seconds (Node 5 s)
// or never (Go); a replica that exits leaves the endpoint set, which closes its
// pool. A connection reused sooner skips the check (one syscall per call).
var checkAfter = time.Second

// dialTimeout bounds the connect to a replica (loopback TCP or a Unix socket).
const dialTimeout = 5 * time.Second

// get returns an idle connection that is still open (reused true), or dials
// addr. Connections that went stale while idle are closed on the way.
func (p *connPool) get(addr string) (c *upConn, reused bool, err error) {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if idle := now.Sub(c.idleSince); idle < checkAfter || idle < idleTimeout && c.alive() {
			return c, true, nil
		}
		c.nc.Close()
	}
	network, address := sockaddr.Split(addr)
	nc, err := net.DialTimeout(network, address, dialTimeout)
	if err != nil {
		return nil, false, err
	}
	c = &upConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10)}
	c.peekFn = c.peek
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c, false, nil
}

// put returns a connection whose last exchange ended cleanly; beyond max idle
// connections, or once the pool is closed, it is closed instead.
func (p *connPool) put(c *upConn, max int) {
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= max {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// close closes the idle connections and makes later puts close theirs.
func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}
