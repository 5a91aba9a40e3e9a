// Package sockaddr names the sockets the daemon, a replica's watchdog and a
// function's own server talk over: a loopback "host:port", or a Unix socket
// written "unix:@NAME" (Linux abstract namespace) or "unix:/path".
//
// A hop over a Unix socket costs less than one over loopback TCP (no TCP
// stack, and the kernel wakes the reader synchronously, often on the same
// CPU), so fjord uses abstract sockets between the daemon, its own watchdog
// and the servers of its own templates. Abstract names live in the network
// namespace, which sandboxed replicas share with the daemon, so no file has
// to be visible on both sides of the sandbox's mount namespace.
package sockaddr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// Prefix starts every Unix socket address.
const Prefix = "unix:"

// urlSuffix ends the URL host form of a Unix socket address (see URLHost).
const urlSuffix = ".unix.fjord"

// IsUnix reports whether addr names a Unix socket.
func IsUnix(addr string) bool { return strings.HasPrefix(addr, Prefix) }

// Split returns the network and address net.Dial takes for addr: "unix" and
// the path (an abstract name keeps its leading '@', as Go's net package
// expects), else "tcp" and addr itself.
func Split(addr string) (network, address string) {
	if p, ok := strings.CutPrefix(addr, Prefix); ok {
		return "unix", p
	}
	return "tcp", addr
}

// NewAbstract returns a fresh abstract socket address, "unix:@PREFIX-<16 hex
// digits>". The random part keeps another process in the network namespace
// from binding the name first.
func NewAbstract(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make socket name: %w", err)
	}
	return Prefix + "@" + prefix + "-" + hex.EncodeToString(b[:]), nil
}

// ValidAbstract reports whether addr is an abstract socket address made of
// URL-safe characters, the only kind a sandboxed watchdog may report (a path
// would name a file in the replica's own mount namespace).
func ValidAbstract(addr string) bool {
	name, ok := strings.CutPrefix(addr, Prefix+"@")
	if !ok || name == "" || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// URLHost returns the host to put in an http:// URL for addr: addr itself for
// TCP, else the socket's address hex-encoded under a reserved suffix, which
// Dial (as an http.Transport's DialContext) turns back into the socket. One
// host per socket keeps the transport's connection pools apart.
func URLHost(addr string) string {
	if !IsUnix(addr) {
		return addr
	}
	return hex.EncodeToString([]byte(addr[len(Prefix):])) + urlSuffix
}

// Listen listens on addr.
func Listen(addr string) (net.Listener, error) {
	network, address := Split(addr)
	return net.Listen(network, address)
}

// ListenFile listens on addr and returns the listening socket as a file, to
// hand to a child process (exec.Cmd.ExtraFiles); no other copy stays open,
// so the socket closes when the child's does. A socket file on a path is not
// removed when the listener here is closed.
func ListenFile(addr string) (*os.File, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	return ln.(interface{ File() (*os.File, error) }).File()
}

// Dialer dials both address forms: use its DialContext as an
// http.Transport's, with URLs made by URLHost.
type Dialer struct{ net.Dialer }

// DialContext dials address, which is a "host:port" from a URL whose host came
// from URLHost, or an address in this package's form.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if host, _, err := net.SplitHostPort(address); err == nil {
		if enc, ok := strings.CutSuffix(host, urlSuffix); ok {
			p, err := hex.DecodeString(enc)
			if err != nil {
				return nil, fmt.Errorf("dial %s: bad unix socket host", address)
			}
			return d.Dialer.DialContext(ctx, "unix", string(p))
		}
	}
	if IsUnix(address) {
		return d.Dialer.DialContext(ctx, "unix", address[len(Prefix):])
	}
	return d.Dialer.DialContext(ctx, network, address)
}
