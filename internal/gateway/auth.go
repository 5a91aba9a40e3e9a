package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// withAuth requires basic auth on /system/* and /ui/ when enabled. /function/,
// /async-function/, /healthz, /metrics and / stay open; /v2/ does its own auth.
func (s *Server) withAuth(next http.Handler) http.Handler {
	a := s.cfg.Auth
	if !a.Enabled {
		return next
	}
	want := sha256.Sum256([]byte(a.Password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if protected(r.URL.Path) && !a.allowed(r, want) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
			http.Error(w, "invalid credentials", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// protected reports whether path needs credentials. Unclean paths such as
// "//system/x" are not matched here, but the mux only redirects those.
func protected(path string) bool {
	return path == "/system" || strings.HasPrefix(path, "/system/") ||
		path == "/ui" || strings.HasPrefix(path, "/ui/")
}

// allowed compares the user with == and the password in constant time (over
// digests, so that the length does not leak either).
func (a Auth) allowed(r *http.Request, want [sha256.Size]byte) bool {
	user, pass, ok := r.BasicAuth()
	return ok && a.matches(user, pass, want)
}

// Check reports whether user and pass are the admin credentials; with auth
// off everything passes. The embedded registry uses it for pushes.
func (a Auth) Check(user, pass string) bool {
	return !a.Enabled || a.matches(user, pass, sha256.Sum256([]byte(a.Password)))
}

func (a Auth) matches(user, pass string, want [sha256.Size]byte) bool {
	got := sha256.Sum256([]byte(pass))
	return user == a.User && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
