package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// socketCase is a template that declares fjord_upstream_socket, with a handler
// that answers "METHOD PATH x=QUERY n=LEN sha=SHA256" for every call.
type socketCase struct {
	lang, file, code string
	need             string // the command the template runs on
	exe              string // a substring of the function server's command line
	maxBody          int    // the largest body the template takes by default; 0: no limit
}

var socketCases = []socketCase{
	{lang: "python3-http", file: "handler.py", need: "python3", exe: "index.py",
		code: "import hashlib\n\ndef handle(event, context):\n" +
			"    return {'statusCode': 200, 'body': '%s %s x=%s n=%d sha=%s' % (event.method, event.path, event.query.get('x', ''), len(event.body), hashlib.sha256(event.body).hexdigest())}\n"},
	{lang: "go", file: "handler.go", need: "go", exe: "handler",
		code: "package function\n\nimport (\n\t\"crypto/sha256\"\n\t\"fmt\"\n\t\"io\"\n\t\"net/http\"\n)\n\n" +
			"// Handle describes the call.\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n\tb, _ := io.ReadAll(r.Body)\n" +
			"\tfmt.Fprintf(w, \"%s %s x=%s n=%d sha=%x\", r.Method, r.URL.Path, r.URL.Query().Get(\"x\"), len(b), sha256.Sum256(b))\n}\n"},
	{lang: "node", file: "handler.js", need: "node", exe: "index.js", maxBody: 100 << 10, // MAX_RAW_SIZE
		code: "'use strict'\nconst crypto = require('crypto')\n\nmodule.exports = async (event, context) => {\n" +
			"  const b = event.body || ''\n" +
			"  return context.status(200).succeed(`${event.method} ${event.path} x=${event.query.x || ''} n=${Buffer.byteLength(b)} sha=${crypto.createHash('sha256').update(b).digest('hex')}`)\n}\n"},
}

// TestTemplateSocket deploys the templates whose servers listen on the abstract
// Unix socket the watchdog hands over (fjord_upstream_socket: "inherit"),
// checks that the function's server listens there, on fd 3, and on no TCP
// port, and calls it over keep-alive with plain, sized and chunked bodies.
func TestTemplateSocket(t *testing.T) {
	testenv.NeedRoot(t)
	d := startDaemon(t)
	d.login(t)
	for _, tc := range socketCases {
		t.Run(tc.lang, func(t *testing.T) {
			testenv.NeedCommand(t, tc.need)
			name := "sock-" + strings.ReplaceAll(tc.lang, "3", "")
			d.deployNew(t, name, tc.lang, tc.file, tc.code, 0o644)
			base := d.url("/function/" + name)
			waitFor(t, name+" to answer", 60*time.Second, func() bool {
				code, _, _ := invoke(t, "GET", base, "")
				return code == 200
			})
			big := strings.Repeat("0123456789abcdef", 8192)
			if tc.maxBody > 0 {
				big = big[:tc.maxBody]
			}
			calls := []struct {
				method, path, body string
				chunked            bool
			}{
				{"GET", "/a/b?x=1", "", false},
				{"POST", "/post?x=two", "hello", false},
				{"POST", "/chunked", big, true},
				{"PUT", "/", "put", false},
				{"DELETE", "/d", "", false},
			}
			for round := 0; round < 3; round++ { // later rounds reuse the connections
				for _, c := range calls {
					got := call(t, c.method, base+c.path, c.body, c.chunked)
					path, query, _ := strings.Cut(c.path, "?")
					want := fmt.Sprintf("%s %s x=%s n=%d sha=%s", c.method, path, strings.TrimPrefix(query, "x="), len(c.body), sha(c.body))
					if got != want {
						t.Fatalf("%s %s: body %q, want %q\n%s", c.method, c.path, got, want, d.output())
					}
				}
			}
			checkSocketServer(t, d.cmd.Process.Pid, tc.exe)
		})
	}
}

// call sends one request (chunked: with Transfer-Encoding: chunked) and
// returns the body of its 200 response.
func call(t *testing.T, method, url, body string, chunked bool) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %q", method, url, resp.StatusCode, b)
	}
	return string(b)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// checkSocketServer finds the daemon's descendant whose command line holds exe
// and checks that it holds a listening @fjord-fn-… socket and no TCP listener.
func checkSocketServer(t *testing.T, daemonPID int, exe string) {
	t.Helper()
	unixListen := listeningInodes(t, []string{"/proc/net/unix"})
	tcpListen := listeningInodes(t, []string{"/proc/net/tcp", "/proc/net/tcp6"})
	found := false
	for _, pid := range descendants(daemonPID) {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), exe) {
			continue
		}
		for _, ino := range socketInodes(pid) {
			if name := unixListen[ino]; strings.HasPrefix(name, "@fjord-fn-") {
				found = true
				// The watchdog made the socket and handed it over.
				env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
				vars := strings.Split(string(env), "\x00")
				if !slices.Contains(vars, "FJORD_SOCKET_FD=3") || slices.ContainsFunc(vars, func(v string) bool {
					return strings.HasPrefix(v, "FJORD_SOCKET=") || strings.HasPrefix(v, "PORT=")
				}) {
					t.Errorf("function server %d (%q) on %s: want FJORD_SOCKET_FD=3 and no FJORD_SOCKET or PORT in its environment %q", pid, cmdline, name, vars)
				}
			}
			if _, ok := tcpListen[ino]; ok {
				t.Errorf("function server %d (%q) listens on TCP too", pid, cmdline)
			}
		}
	}
	if !found {
		t.Errorf("no process of the daemon running %q listens on an @fjord-fn-… socket", exe)
	}
}

// listeningInodes maps the inode of every listening socket in the given
// /proc/net tables to its address (the path column of /proc/net/unix).
func listeningInodes(t *testing.T, tables []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range tables {
		b, err := os.ReadFile(table)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, line := range lines[1:] {
			f := strings.Fields(line)
			switch {
			case table == "/proc/net/unix" && len(f) >= 8 && f[3] == "00010000": // __SO_ACCEPTCON
				out[f[6]] = f[7]
			case table != "/proc/net/unix" && len(f) >= 10 && f[3] == "0A": // TCP_LISTEN
				out[f[9]] = f[1]
			}
		}
	}
	return out
}

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(pid int) []string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			out = append(out, strings.TrimSuffix(ino, "]"))
		}
	}
	return out
}

// descendants returns the pids below root in the process tree.
func descendants(root int) []int {
	children := procChildren()
	var out []int
	for queue := children[root]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}
