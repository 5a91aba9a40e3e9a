package watchdog

import (
	"io"
	"net/url"
	"os"
	"testing"
)

// TestReadyMessage checks what the ready fd carries: the function's own
// address only when nothing needs the watchdog on the data path.
func TestReadyMessage(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{name: "http auto upstream", edit: func(c *Config) {}, want: "upstream=127.0.0.1:4321\n"},
		{name: "max_inflight", edit: func(c *Config) { c.MaxInflight = 2 }, want: "\n"},
		{name: "buffered body", edit: func(c *Config) { c.BufferBody = true }, want: "\n"},
		{name: "log_callid", edit: func(c *Config) { c.LogCallID = true }, want: "\n"},
		{name: "fixed upstream_url", edit: func(c *Config) { c.AutoUpstream = false; c.UpstreamURL = "http://127.0.0.1:4321" }, want: "\n"},
		{name: "streaming mode", edit: func(c *Config) { c.Mode = ModeStreaming; c.AutoUpstream = false }, want: "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Mode, cfg.Process, cfg.AutoUpstream = ModeHTTP, "cat", true
			cfg.Stdout, cfg.Stderr = io.Discard, io.Discard
			tt.edit(&cfg)
			w, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if w.proxy != nil {
				w.proxy.target = &url.URL{Scheme: "http", Host: "127.0.0.1:4321"}
				w.proxy.addr = "127.0.0.1:4321"
			}
			r, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			w.readyFile = wr
			if err := w.notifyReady(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tt.want {
				t.Fatalf("ready fd gave %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
