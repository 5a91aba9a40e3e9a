package image

import (
	"fmt"
	"strings"
)

// SplitRef splits an image reference into host, repository and tag or
// digest. host is "" when the reference names none: the first path component
// is a host only if it contains '.' or ':' or is "localhost". repo is the
// path as written ("library/" is not added). The tag defaults to "latest";
// a digest reference returns "sha256:...".
func SplitRef(ref string) (host, repo, tagOrDigest string, err error) {
	if ref == "" {
		return "", "", "", fmt.Errorf("parse image reference: empty")
	}
	if strings.ContainsAny(ref, " \t\n") {
		return "", "", "", fmt.Errorf("parse image reference %q: contains whitespace", ref)
	}
	rest := ref
	if i := strings.Index(rest, "/"); i > 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			host, rest = first, rest[i+1:]
		}
	}
	switch {
	case strings.Contains(rest, "@"):
		i := strings.Index(rest, "@")
		repo, tagOrDigest = rest[:i], rest[i+1:]
		if !validDigest(tagOrDigest) {
			return "", "", "", fmt.Errorf("parse image reference %q: invalid digest %q", ref, tagOrDigest)
		}
		// A tag before the digest ("repo:tag@sha256:...") is informational.
		if j := strings.LastIndex(repo, ":"); j >= 0 {
			repo = repo[:j]
		}
	case strings.LastIndex(rest, ":") > strings.LastIndex(rest, "/"):
		i := strings.LastIndex(rest, ":")
		repo, tagOrDigest = rest[:i], rest[i+1:]
	default:
		repo, tagOrDigest = rest, "latest"
	}
	if err := validRepo(repo); err != nil {
		return "", "", "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	if tagOrDigest == "" {
		return "", "", "", fmt.Errorf("parse image reference %q: empty tag", ref)
	}
	return host, repo, tagOrDigest, nil
}

func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validRepo(repo string) error {
	if repo == "" {
		return fmt.Errorf("empty repository")
	}
	for _, part := range strings.Split(repo, "/") {
		if part == "" {
			return fmt.Errorf("empty path component in %q", repo)
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("invalid character %q in repository %q (lowercase letters, digits, . _ - only)", c, repo)
			}
		}
	}
	return nil
}
