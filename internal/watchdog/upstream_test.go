package watchdog

import (
	"context"
	"net"
	"strconv"
	"testing"
)

// TestConnectProbe checks the upstream probe on a listening and a closed
// port, for IPv4, IPv6 and a host name (which is dialled instead).
func TestConnectProbe(t *testing.T) {
	ctx := context.Background()
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		names := []string{net.JoinHostPort(host, port)}
		if network == "tcp4" {
			names = append(names, "localhost:"+port)
		}
		for _, addr := range names {
			if !connectProbe(addr)(ctx) {
				t.Errorf("probe of listening %s failed", addr)
			}
		}
		ln.Close()
		if connectProbe(net.JoinHostPort(host, port))(ctx) {
			t.Errorf("probe of closed %s succeeded", net.JoinHostPort(host, port))
		}
	}
}
