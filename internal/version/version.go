// Package version reports the build's release and VCS data.
package version

import (
	"runtime/debug"
	"sync"
)

// Release is set at link time with -ldflags "-X .../version.Release=0.1.0".
var Release = "dev"

// Info is the build identity reported by /system/info and `fjord version`.
type Info struct {
	Release       string
	SHA           string
	CommitMessage string
}

var once = sync.OnceValue(func() Info {
	info := Info{Release: Release, SHA: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				info.SHA = s.Value[:7]
			}
		}
	}
	return info
})

// Get returns the build identity; it never returns empty fields.
func Get() Info { return once() }

// UserAgent is the value fjord sends as User-Agent and X-Served-By.
func UserAgent() string { return "fjord/" + Get().Release }
