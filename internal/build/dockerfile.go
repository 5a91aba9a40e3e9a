package build

import (
	"bufio"
	"bytes"
	"io/fs"
	"strconv"
	"strings"
)

// dockerfileEnv reads the ENV instructions of the last stage of a template's
// Dockerfile, so that OpenFaaS-style templates in ./template (which set mode,
// upstream_url, ... there) get the same environment without Docker. Only the
// plain forms are understood: `ENV k=v k2="v 2"` and `ENV k v`.
func dockerfileEnv(tfs fs.FS) map[string]string {
	b, err := fs.ReadFile(tfs, "Dockerfile")
	if err != nil {
		return nil
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(joinContinuations(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			env = map[string]string{}
		case "ENV":
			parseEnvLine(strings.TrimSpace(rest), env)
		}
	}
	return env
}

func joinContinuations(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\\\r\n"), []byte(" ")), []byte("\\\n"), []byte(" "))
}

func parseEnvLine(s string, env map[string]string) {
	if s == "" {
		return
	}
	first, rest, _ := strings.Cut(s, " ")
	if !strings.Contains(first, "=") {
		env[first] = unquote(strings.TrimSpace(rest))
		return
	}
	for s != "" {
		key, after, ok := strings.Cut(s, "=")
		if !ok {
			return
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			end := closingQuote(after)
			val, s = unquote(after[:end]), strings.TrimSpace(after[end:])
		} else {
			val, s, _ = strings.Cut(after, " ")
			s = strings.TrimSpace(s)
		}
		env[strings.TrimSpace(key)] = val
	}
}

// closingQuote returns the index just past the quoted string at the start of s.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"'`)
}
