package watchdog

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClassic(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		method   string
		path     string
		body     string
		hdr      []string
		code     int
		contains []string // in the response body
		absent   []string
		ctype    string
		logs     []string // in the watchdog's stderr
	}{
		{name: "echo via cat", env: []string{"fprocess=cat"}, method: "POST", body: "hello", code: 200,
			contains: []string{"hello"}, hdr: []string{"Content-Type", "text/x-in"}, ctype: "text/x-in",
			logs: []string{"Forking fprocess.", "Wrote 5 Bytes - Duration: "}},
		{name: "content_type forced", env: []string{"fprocess=cat", "content_type=application/json"}, method: "PUT",
			body: "{}", code: 200, contains: []string{"{}"}, ctype: "application/json"},
		{name: "cgi env", env: []string{"fprocess=env"}, method: "POST", path: "/p/a?q=1&r=2", body: "abc",
			hdr: []string{"X-Call-Id", "id-1", "Content-Type", "text/plain"}, code: 200,
			contains: []string{"Http_X_Call_Id=id-1", "Http_Content_Type=text/plain", "Http_Method=POST",
				"Http_Query=q=1&r=2", "Http_Path=/p/a", "Http_Content_Length=3", "Http_ContentLength=3",
				"Http_Host=127.0.0.1:", "Http_User_Agent="},
			absent: []string{"Http_ContentType=", "Http_Transfer_Encoding="}},
		{name: "cgi headers off", env: []string{"fprocess=env", "cgi_headers=false"}, method: "GET",
			hdr: []string{"X-Call-Id", "id-1"}, code: 200, absent: []string{"Http_X_Call_Id", "Http_Method"}},
		{name: "non-zero exit", env: []string{"fprocess=false"}, method: "POST", code: 500,
			contains: []string{"exit status 1"}},
		{name: "exec timeout", env: []string{"fprocess=sleep 5", "exec_timeout=200ms"}, method: "GET", code: 408,
			contains: []string{"Killed process."}},
		{name: "combined output", env: []string{"fprocess=sh -c echo${IFS}out;echo${IFS}err>&2"}, method: "GET",
			code: 200, contains: []string{"out", "err"}},
		{name: "stdout only", env: []string{"fprocess=sh -c echo${IFS}out;echo${IFS}err>&2", "combine_output=false"},
			method: "GET", code: 200, contains: []string{"out"}, absent: []string{"err"}, logs: []string{"stderr: err"}},
		{name: "write_debug", env: []string{"fprocess=cat", "write_debug=true"}, method: "POST", body: "dbg",
			code: 200, logs: []string{"Out=dbg"}},
		{name: "debug_headers", env: []string{"fprocess=cat", "debug_headers=true"}, method: "POST",
			hdr: []string{"X-Dbg", "yes"}, code: 200, logs: []string{"Header: map[", "X-Dbg:[yes]", "Response header: map["}},
		{name: "method not allowed", env: []string{"fprocess=cat"}, method: "OPTIONS", code: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.env...)
			res, body := call(t, tt.method, h.url+tt.path, tt.body, tt.hdr...)
			if res.StatusCode != tt.code {
				t.Fatalf("status = %d, want %d; body %q", res.StatusCode, tt.code, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("body has %q:\n%s", s, body)
				}
			}
			if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.code == 200 && res.Header.Get("X-Duration-Seconds") == "" {
				t.Error("missing X-Duration-Seconds")
			}
			// Some lines are logged after the response is sent.
			for _, s := range tt.logs {
				poll(t, 5*time.Second, func() bool { return strings.Contains(h.stderr.String(), s) })
			}
		})
	}
}

func TestClassicChunkedAndMarshal(t *testing.T) {
	t.Run("chunked body", func(t *testing.T) {
		h := start(t, "fprocess=env")
		req, _ := http.NewRequest("POST", h.url, io.MultiReader(strings.NewReader("x")))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, s := range []string{"Http_Content_Length=-1", "Http_Transfer_Encoding=chunked"} {
			if !strings.Contains(string(b), s) {
				t.Errorf("env lacks %q", s)
			}
		}
	})
	t.Run("marshal_request", func(t *testing.T) {
		h := start(t, "fprocess=cat", "marshal_request=true")
		_, body := call(t, "POST", h.url, "raw-bytes", "X-Test", "v")
		var m struct {
			Header http.Header          `json:"header"`
			Body   struct{ Raw string } `json:"body"`
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("stdin is not JSON: %v: %s", err, body)
		}
		if m.Header.Get("X-Test") != "v" || m.Body.Raw != base64.StdEncoding.EncodeToString([]byte("raw-bytes")) {
			t.Errorf("marshalled request = %s", body)
		}
	})
}

func TestMaxInflight(t *testing.T) {
	h := start(t, "fprocess=sleep 1", "max_inflight=1")
	first := make(chan int, 1)
	go func() {
		res, err := http.Get(h.url)
		if err != nil {
			first <- 0
			return
		}
		res.Body.Close()
		first <- res.StatusCode
	}()
	poll(t, 5*time.Second, func() bool {
		res, _ := call(t, "GET", h.url+"/_/ready", "")
		return res.StatusCode == http.StatusTooManyRequests
	})
	if res, _ := call(t, "GET", h.url, ""); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second call = %d, want 429", res.StatusCode)
	}
	if code := <-first; code != http.StatusOK {
		t.Errorf("first call = %d, want 200", code)
	}
}
