package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// templateCase is one template with a handler written the way its users write them.
type templateCase struct {
	lang, file, code string
	method, body     string
	want             []string // substrings of the response body
	wantHeader       [2]string
}

var templateCases = []templateCase{
	{lang: "python3", file: "handler.py", method: "POST", body: "fjord",
		code: "def handle(req):\n    return 'python3:' + req.upper()\n", want: []string{"python3:FJORD"}},
	{lang: "python3-http", file: "handler.py", method: "PUT", body: "x",
		code: "def handle(event, context):\n    return {'statusCode': 201, 'body': {'method': event.method, 'path': event.path, 'body': event.body.decode()}, 'headers': {'X-Fn': 'py-http'}}\n",
		want: []string{`"method": "PUT"`, `"body": "x"`}, wantHeader: [2]string{"X-Fn", "py-http"}},
	{lang: "go", file: "handler.go", method: "PATCH", body: "gopher",
		code: "package function\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"net/http\"\n)\n\n// Handle echoes the method and body.\nfunc Handle(w http.ResponseWriter, r *http.Request) {\n\tb, _ := io.ReadAll(r.Body)\n\tw.Header().Set(\"X-Fn\", \"go\")\n\tfmt.Fprintf(w, \"go:%s:%s\", r.Method, b)\n}\n",
		want: []string{"go:PATCH:gopher"}, wantHeader: [2]string{"X-Fn", "go"}},
	{lang: "node", file: "handler.js", method: "POST", body: "js",
		code: "module.exports = async (event, context) => {\n  context.headers({'X-Fn': 'node'});\n  return { node: String(event.body), method: event.method };\n};\n",
		want: []string{`"node":"js"`, `"method":"POST"`}, wantHeader: [2]string{"X-Fn", "node"}},
	{lang: "bash", file: "handler.sh", method: "POST", body: "shell",
		code: "#!/bin/bash\necho \"bash:$(cat)\"\n", want: []string{"bash:shell"}},
}

// TestTemplates creates, builds, pushes and deploys a function from every template
// with the CLI (`fjord new` + `fjord up`) and calls it over HTTP.
func TestTemplates(t *testing.T) {
	testenv.NeedCommand(t, "node")
	d := startDaemon(t)
	d.login(t)
	for _, tc := range templateCases {
		t.Run(tc.lang, func(t *testing.T) {
			name := "fn-" + strings.ReplaceAll(tc.lang, "3", "")
			dir := d.deployNew(t, name, tc.lang, tc.file, tc.code, 0o755)
			var code int
			var body string
			waitFor(t, name+" to answer", 60*time.Second, func() bool {
				code, body, _ = invoke(t, tc.method, d.url("/function/"+name), tc.body)
				return code != 503 && code != 502
			})
			code, body, hdr := invoke(t, tc.method, d.url("/function/"+name+"?q=1"), tc.body)
			if code/100 != 2 {
				t.Fatalf("%s: %d %q\n%s", name, code, body, d.output())
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: body %q lacks %q", name, body, w)
				}
			}
			if h := tc.wantHeader; h[0] != "" && hdr.Get(h[0]) != h[1] {
				t.Errorf("%s: header %s = %q, want %q", name, h[0], hdr.Get(h[0]), h[1])
			}
			if out := d.mustCLI(t, dir, tc.body, "invoke", name, "-m", tc.method); !strings.Contains(out, tc.want[0]) {
				t.Errorf("fjord invoke %s: %q lacks %q", name, out, tc.want[0])
			}
		})
	}
}
