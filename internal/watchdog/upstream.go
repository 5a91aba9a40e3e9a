package watchdog

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
	"golang.org/x/sys/unix"
)

// start launches the function process and waits until its server accepts
// connections. With fjord_auto_upstream the address is chosen here: a free
// loopback port passed as PORT, or, when the template's server says it can
// (fjord_upstream_socket), an abstract Unix socket passed as FJORD_SOCKET —
// or, with fjord_upstream_socket=inherit, already listening as fd 3.
func (p *proxy) start(ctx context.Context) error {
	env := p.w.cfg.Env
	target := p.w.cfg.UpstreamURL
	addr := ""
	var inherit *os.File // the listening socket the server inherits
	if p.w.cfg.AutoUpstream {
		var err error
		if p.w.cfg.UpstreamSocket {
			if addr, err = sockaddr.NewAbstract("fjord-fn"); err != nil {
				return err
			}
			_, path := sockaddr.Split(addr)
			if p.w.cfg.UpstreamInherit {
				if inherit, err = sockaddr.ListenFile(addr); err != nil {
					return fmt.Errorf("listen on upstream socket %s: %w", path, err)
				}
				defer inherit.Close() // the server holds the only copy once started
				env = append(slices.Clip(env), SocketFDEnv+"="+strconv.Itoa(inheritedFD))
			} else {
				env = append(slices.Clip(env), SocketEnv+"="+path)
			}
		} else {
			port, err := freePort()
			if err != nil {
				return err
			}
			addr = "127.0.0.1:" + strconv.Itoa(port)
			env = append(slices.Clip(env), "PORT="+strconv.Itoa(port))
		}
		target = "http://" + sockaddr.URLHost(addr)
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("parse upstream url: %w", err)
	}
	if addr == "" {
		addr = hostPort(u)
	}
	p.target, p.addr = u, addr
	var extra []*os.File
	if inherit != nil {
		extra = []*os.File{inherit}
	}
	c, err := p.w.startChild(env, extra)
	if err != nil {
		return err
	}
	p.child = c
	if inherit != nil {
		// Connections queue on the socket until the server accepts them.
		return nil
	}
	if err := waitAccepting(ctx, addr, c); err != nil {
		c.stop(time.Second)
		return err
	}
	return nil
}

// SocketFDEnv names the variable that tells a template's server, started
// with fjord_upstream_socket=inherit, the file descriptor of the listening
// socket it inherits (always 3, the first after stdin, stdout and stderr).
const SocketFDEnv = "FJORD_SOCKET_FD"

// inheritedFD is where the server finds the inherited socket.
const inheritedFD = 3

// SocketEnv names the variable that tells a template's server, started with
// fjord_upstream_socket, the Unix socket to listen on: "@NAME" for an
// abstract socket (Linux; the server puts a NUL byte for the '@').
const SocketEnv = "FJORD_SOCKET"

// The wait for a starting upstream probes it with a TCP connect, first
// after minAcceptPoll, each pause 1.2 times the last, up to maxAcceptPoll.
const (
	minAcceptPoll = 100 * time.Microsecond
	maxAcceptPoll = 2 * time.Millisecond
)

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick upstream port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, fmt.Errorf("pick upstream port: %w", err)
	}
	return port, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// waitAccepting probes addr with connects until it accepts, the child
// exits or ctx ends. This wait is on the cold-start path and a Go handler
// listens 2-3 ms after its fork, so the probes start 100 µs apart and back
// off slowly: a refused loopback connect costs microseconds, a late probe
// the whole gap. The pauses are nanosleeps of this thread, because Go's
// timers wake an otherwise idle process only once per millisecond.
func waitAccepting(ctx context.Context, addr string, c *child) error {
	probe := connectProbe(addr)
	delay := minAcceptPoll
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for upstream %s: %w", addr, ctx.Err())
		case <-c.done:
			return fmt.Errorf("function process exited before accepting connections: %v", c.err)
		default:
		}
		if probe(ctx) {
			return nil
		}
		ts := unix.NsecToTimespec(int64(delay))
		_ = unix.Nanosleep(&ts, nil)
		delay = min(delay*6/5, maxAcceptPoll)
	}
}

// connectProbe returns a check that addr accepts a connection: raw
// non-blocking syscalls for an IP address or a Unix socket, else a dial.
func connectProbe(addr string) func(context.Context) bool {
	if network, path := sockaddr.Split(addr); network == "unix" {
		sa := &unix.SockaddrUnix{Name: path}
		return func(context.Context) bool { return connects(unix.AF_UNIX, sa) }
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		d := net.Dialer{Timeout: time.Second}
		return func(ctx context.Context) bool {
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				_ = conn.Close()
			}
			return err == nil
		}
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(&unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Unmap().Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	return func(context.Context) bool { return connects(family, sa) }
}

// connects reports whether a connect to sa succeeds within a second.
func connects(family int, sa unix.Sockaddr) bool {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return true
	case unix.EINPROGRESS:
	default:
		return false
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if n, err := unix.Poll(pfd, 1000); err != nil || n != 1 {
		return false
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	return err == nil && v == 0
}
