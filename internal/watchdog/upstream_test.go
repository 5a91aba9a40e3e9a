package watchdog

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestHTTPModeChildInheritsNoWatchdogFDs checks that the function process,
// started before the watchdog takes its inherited fds, still gets none of
// them: here the ready fd, passed without close-on-exec as the sandbox does.
func TestHTTPModeChildInheritsNoWatchdogFDs(t *testing.T) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	fd, err := unix.Dup(int(readyW.Fd())) // no close-on-exec; the watchdog owns it
	readyW.Close()
	if err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, "mode=http", "fprocess="+os.Args[0], roleEnv+"=upstream", "fjord_auto_upstream=1",
		"fjord_ready_fd="+strconv.Itoa(fd))
	res, body := call(t, "GET", h.url+"/fds", "")
	if res.StatusCode != 200 || body == "" {
		t.Fatalf("GET /fds = %d %q", res.StatusCode, body)
	}
	if strings.Contains(body, link) {
		t.Errorf("function process holds the watchdog's ready fd %s:\n%s", link, body)
	}
	if line, err := bufio.NewReader(readyR).ReadString('\n'); err != nil || line == "" {
		t.Errorf("ready message %q, %v", line, err)
	}
}
