package stack

import (
	"fmt"
	"strings"
)

// substitute replaces ${VAR} and ${VAR:-default} in text. An unset VAR without a
// default becomes the empty string, as envsubst does; ${VAR:-default} also uses the
// default when VAR is set but empty. "$$" stays a literal "$$" only when not
// followed by "{"; "$${" escapes to a literal "${".
func substitute(text string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		c := text[i]
		if c != '$' || i+1 >= len(text) {
			b.WriteByte(c)
			i++
			continue
		}
		if text[i+1] == '$' && i+2 < len(text) && text[i+2] == '{' {
			b.WriteString("${")
			i += 3
			continue
		}
		if text[i+1] != '{' {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(text[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated variable reference at offset %d", i)
		}
		expr := text[i+2 : i+2+end]
		val, err := expand(expr, lookup)
		if err != nil {
			return "", err
		}
		b.WriteString(val)
		i += end + 3
	}
	return b.String(), nil
}

func expand(expr string, lookup func(string) (string, bool)) (string, error) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", fmt.Errorf("invalid variable reference ${%s}", expr)
	}
	v, ok := lookup(name)
	if hasDef && (!ok || v == "") {
		return def, nil
	}
	return v, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
