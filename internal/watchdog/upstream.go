package watchdog

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// start launches the function process and waits until its port accepts
// connections. With fjord_auto_upstream the port is chosen here and passed as PORT.
func (p *proxy) start(ctx context.Context) error {
	env := p.w.cfg.Env
	target := p.w.cfg.UpstreamURL
	if p.w.cfg.AutoUpstream {
		port, err := freePort()
		if err != nil {
			return err
		}
		env = append(slices.Clip(env), "PORT="+strconv.Itoa(port))
		target = "http://127.0.0.1:" + strconv.Itoa(port)
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("parse upstream url: %w", err)
	}
	p.target = u
	c, err := p.w.startChild(env)
	if err != nil {
		return err
	}
	p.child = c
	if err := waitAccepting(ctx, hostPort(u), c); err != nil {
		c.stop(time.Second)
		return err
	}
	return nil
}

// maxAcceptPoll caps the interval between two connects of waitAccepting.
const maxAcceptPoll = 2 * time.Millisecond

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

// waitAccepting polls addr with TCP connects, from 0.5 ms backing off to
// maxAcceptPoll, until it answers, the child exits or ctx ends. This wait is
// on the cold-start path: a refused loopback connect costs microseconds, a
// late poll costs the whole gap (with a 20 ms cap a Go handler ready after
// 18 ms was seen only at 31 ms).
func waitAccepting(ctx context.Context, addr string, c *child) error {
	d := net.Dialer{Timeout: time.Second}
	delay := 500 * time.Microsecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for upstream %s: %w", addr, ctx.Err())
		case <-c.done:
			return fmt.Errorf("function process exited before accepting connections: %v", c.err)
		case <-t.C:
		}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		t.Reset(delay)
		delay = min(delay*2, maxAcceptPoll)
	}
}
