package sockaddr

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"127.0.0.1:8080", "tcp", "127.0.0.1:8080"},
		{"[::1]:80", "tcp", "[::1]:80"},
		{"unix:@fjord-x", "unix", "@fjord-x"},
		{"unix:/run/fn.sock", "unix", "/run/fn.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, a := Split(tt.in)
			if n != tt.network || a != tt.addr {
				t.Errorf("Split(%q) = %q, %q; want %q, %q", tt.in, n, a, tt.network, tt.addr)
			}
		})
	}
}

func TestValidAbstract(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"unix:@fjord-fn-0123456789abcdef", true},
		{"unix:@a.b_C-9", true},
		{"unix:@", false},
		{"unix:/tmp/x.sock", false},
		{"unix:@a/b", false},
		{"unix:@a b", false},
		{"unix:@" + strings.Repeat("a", 101), false},
		{"@fjord-fn", false},
		{"127.0.0.1:80", false},
	}
	for _, tt := range tests {
		if got := ValidAbstract(tt.in); got != tt.want {
			t.Errorf("ValidAbstract(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewAbstract(t *testing.T) {
	a, err := NewAbstract("fjord-test")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewAbstract("fjord-test")
	if a == b || !ValidAbstract(a) || !strings.HasPrefix(a, "unix:@fjord-test-") || len(a) != len("unix:@fjord-test-")+16 {
		t.Errorf("NewAbstract = %q, %q: want two different unix:@fjord-test-<16 hex>", a, b)
	}
	if URLHost("127.0.0.1:9") != "127.0.0.1:9" {
		t.Errorf("URLHost changed a TCP address: %q", URLHost("127.0.0.1:9"))
	}
}

// TestTransportOverSocket serves HTTP on an abstract socket and on TCP and
// calls both through one http.Transport whose DialContext is a Dialer, with
// URLs made by URLHost: each call must reach its own server.
func TestTransportOverSocket(t *testing.T) {
	unixAddr, err := NewAbstract("fjord-test")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(addr, name string) string {
		ln, err := Listen(addr)
		if err != nil {
			t.Fatalf("listen %s: %v", addr, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.Host+" "+r.URL.Path)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		if IsUnix(addr) {
			return addr
		}
		return ln.Addr().String()
	}
	unixAddr = serve(unixAddr, "unix")
	tcpAddr := serve("127.0.0.1:0", "tcp")

	tr := &http.Transport{DialContext: (&Dialer{}).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for i := 0; i < 2; i++ { // the second round reuses pooled connections
		for _, tt := range []struct{ addr, want string }{
			{unixAddr, "unix " + URLHost(unixAddr) + " /p"},
			{tcpAddr, "tcp " + tcpAddr + " /p"},
		} {
			resp, err := c.Get("http://" + URLHost(tt.addr) + "/p")
			if err != nil {
				t.Fatalf("GET %s: %v", tt.addr, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tt.want {
				t.Errorf("GET %s = %q, want %q", tt.addr, b, tt.want)
			}
		}
	}
	// An address in this package's own form dials too.
	conn, err := (&Dialer{}).DialContext(t.Context(), "tcp", unixAddr)
	if err != nil {
		t.Fatalf("dial %s: %v", unixAddr, err)
	}
	if conn.RemoteAddr().Network() != "unix" {
		t.Errorf("dialed %s over %s", unixAddr, conn.RemoteAddr().Network())
	}
	conn.Close()
	if _, err := (&Dialer{}).DialContext(t.Context(), "tcp", "zz"+urlSuffix+":80"); err == nil {
		t.Error("a bad hex host dialed")
	}
}

// TestListenFile: the file is a listening socket that serves once handed
// over, for an abstract name and for a path, whose socket file stays.
func TestListenFile(t *testing.T) {
	abstract, err := NewAbstract("fjord-test")
	if err != nil {
		t.Fatal(err)
	}
	path := Prefix + filepath.Join(t.TempDir(), "s.sock")
	for _, addr := range []string{abstract, path} {
		f, err := ListenFile(addr)
		if err != nil {
			t.Fatalf("ListenFile(%s): %v", addr, err)
		}
		if addr == path {
			if _, err := os.Stat(addr[len(Prefix):]); err != nil {
				t.Errorf("socket file of %s gone after ListenFile: %v", addr, err)
			}
		}
		ln, err := net.FileListener(f) // as the child would
		f.Close()
		if err != nil {
			t.Fatalf("%s: not a listening socket: %v", addr, err)
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Write([]byte("x"))
				c.Close()
			}
		}()
		network, address := Split(addr)
		c, err := net.Dial(network, address)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		b := make([]byte, 1)
		if _, err := c.Read(b); err != nil || b[0] != 'x' {
			t.Errorf("%s: read %q, %v", addr, b, err)
		}
		c.Close()
		ln.Close()
	}
}
