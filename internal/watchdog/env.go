package watchdog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envReader looks up variables in an environ slice and keeps the first parse error.
type envReader struct {
	vars map[string]string
	err  error
}

func newEnvReader(environ []string) *envReader {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v // later entries win, as in exec
		}
	}
	return &envReader{vars: vars}
}

// str returns the first non-empty value among keys.
func (e *envReader) str(def string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(e.vars[k]); v != "" {
			return v
		}
	}
	return def
}

func (e *envReader) fail(key, val string, err error) {
	if e.err == nil {
		e.err = fmt.Errorf("parse env %s=%q: %w", key, val, err)
	}
}

func (e *envReader) boolean(key string, def bool) bool {
	v := e.str("", key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(key, v, err)
		return def
	}
	return b
}

func (e *envReader) integer(key string, def int) int {
	v := e.str("", key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(key, v, err)
		return def
	}
	return n
}

// duration accepts whole seconds ("30") or a Go duration ("1m30s").
func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v := e.str("", key)
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(key, v, err)
		return def
	}
	return d
}

// ConfigFromEnv reads the watchdog configuration from an environ slice
// (os.Environ() in the CLI) and validates it. The slice also becomes the
// function process's environment.
func ConfigFromEnv(environ []string) (Config, error) {
	e := newEnvReader(environ)
	c := Default()
	c.Env = environ
	if m := e.str("", "mode"); m != "" {
		c.Mode = Mode(m)
	}
	classic := c.Mode == ModeClassic
	// fprocess wins over function_process, upstream_url over http_upstream_url.
	c.Process = e.str("", "fprocess", "function_process")
	c.UpstreamURL = e.str("", "upstream_url", "http_upstream_url")
	c.Port = e.integer("port", c.Port)
	c.MetricsPort = e.integer("metrics_port", c.MetricsPort)
	c.ListenFD = e.integer("fjord_listen_fd", c.ListenFD)
	c.ReadyFD = e.integer("fjord_ready_fd", c.ReadyFD)
	c.AutoUpstream = e.boolean("fjord_auto_upstream", false)
	if v := e.str("", "fjord_upstream_socket"); v == "inherit" {
		c.UpstreamSocket, c.UpstreamInherit = true, true
	} else {
		c.UpstreamSocket = e.boolean("fjord_upstream_socket", false)
	}
	if _, set := e.vars["GOMAXPROCS"]; !set {
		c.MaxProcs = 1
	}

	c.ReadTimeout = e.duration("read_timeout", c.ReadTimeout)
	c.WriteTimeout = e.duration("write_timeout", c.WriteTimeout)
	if !classic {
		c.ExecTimeout = 30 * time.Second
	}
	c.ExecTimeout = e.duration("exec_timeout", c.ExecTimeout)
	c.HealthcheckInterval = e.duration("healthcheck_interval", c.WriteTimeout)

	c.WriteDebug = e.boolean("write_debug", false)
	c.CombineOutput = e.boolean("combine_output", true)
	c.CGIHeaders = e.boolean("cgi_headers", true)
	c.MarshalRequest = e.boolean("marshal_request", false)
	c.DebugHeaders = e.boolean("debug_headers", false)
	defType := ""
	if c.Mode == ModeStreaming || c.Mode == ModeSerializing {
		defType = "application/octet-stream"
	}
	c.ContentType = e.str(defType, "content_type")
	c.SuppressLock = e.boolean("suppress_lock", false)
	c.MaxInflight = e.integer("max_inflight", 0)
	c.BufferBody = e.boolean("http_buffer_req_body", false) || e.boolean("buffer_http", false)
	c.PrefixLogs = e.boolean("prefix_logs", true)
	c.ReadyPath = e.str("", "ready_path")
	c.LogCallID = e.boolean("log_callid", false)
	c.StaticPath = e.str(c.StaticPath, "static_path")
	if e.err != nil {
		return Config{}, e.err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("validate watchdog config: %w", err)
	}
	return c, nil
}
