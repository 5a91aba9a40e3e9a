package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
)

// The bare relay is the smallest one-hop forwarder: it parses nothing and
// moves bytes in lock step — one read from the client is written upstream,
// then one read from upstream is written back — with one goroutine and one
// upstream connection per client connection. Lock step relies on each
// request and each answer arriving in one read, which holds for the bench's
// small GETs without pipelining (vegeta waits for each answer); a desync
// would show as failed calls in the relay's success column.

// relayCmd is the hidden first argument that makes the bench a relay process.
const relayCmd = "relay-serve"

// serveRelay accepts connections on l and forwards each to upstream.
func serveRelay(l net.Listener, upstream string) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go relayConn(c, upstream)
	}
}

func relayConn(c net.Conn, upstream string) {
	defer c.Close()
	network, address := sockaddr.Split(upstream)
	u, err := net.Dial(network, address)
	if err != nil {
		return
	}
	defer u.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := u.Write(buf[:n]); err != nil {
			return
		}
		if n, err = u.Read(buf); err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// relayMain is the relay process: it listens on a free loopback port, prints
// the address on stdout and relays to upstream until killed.
func relayMain(upstream string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr().String())
	return serveRelay(l, upstream)
}

// relay is a running bare relay: a child process (pid set) or goroutines in
// the bench process itself (pid 0).
type relay struct {
	url  string
	pid  int
	stop func()
}

// startRelay puts a bare relay in front of the server at upstream (host:port
// or unix:@name) and waits until a call through it answers 200. mode is
// "process" (the bench re-executes itself) or "inproc".
func startRelay(ctx context.Context, upstream, mode string) (*relay, error) {
	var r *relay
	switch mode {
	case "inproc":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		go func() { _ = serveRelay(l, upstream) }()
		r = &relay{url: "http://" + l.Addr().String() + "/", stop: func() { l.Close() }}
	case "process":
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		cmd := exec.Command(self, relayCmd, upstream)
		cmd.Stderr = io.Discard
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		stop := func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }
		addr := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			addr <- strings.TrimSpace(line)
		}()
		var a string
		select {
		case a = <-addr:
		case <-time.After(10 * time.Second):
		}
		if a == "" {
			stop()
			return nil, errors.New("relay process printed no address")
		}
		r = &relay{url: "http://" + a + "/", pid: cmd.Process.Pid, stop: stop}
	default:
		return nil, fmt.Errorf("relay mode %q: want process or inproc", mode)
	}
	if err := waitOK(ctx, r.url, 10*time.Second); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}
