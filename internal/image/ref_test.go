package image

import "testing"

func TestSplitRef(t *testing.T) {
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		ref, host, repo, tag string
		wantErr              bool
	}{
		{ref: "hello", repo: "hello", tag: "latest"},
		{ref: "hello:latest", repo: "hello", tag: "latest"},
		{ref: "hello:v1.2", repo: "hello", tag: "v1.2"},
		{ref: "team/hello:v1", repo: "team/hello", tag: "v1"},
		{ref: "a/b/c", repo: "a/b/c", tag: "latest"},
		{ref: "127.0.0.1:8080/hello:latest", host: "127.0.0.1:8080", repo: "hello", tag: "latest"},
		{ref: "localhost/hello", host: "localhost", repo: "hello", tag: "latest"},
		{ref: "localhost:5000/team/hello", host: "localhost:5000", repo: "team/hello", tag: "latest"},
		{ref: "ghcr.io/openfaas/figlet:0.1", host: "ghcr.io", repo: "openfaas/figlet", tag: "0.1"},
		{ref: "docker.io/library/alpine", host: "docker.io", repo: "library/alpine", tag: "latest"},
		{ref: "hello@" + digest, repo: "hello", tag: digest},
		{ref: "reg.example:5000/hello:v1@" + digest, host: "reg.example:5000", repo: "hello", tag: digest},
		{ref: "", wantErr: true},
		{ref: "Hello", wantErr: true},
		{ref: "hello:", wantErr: true},
		{ref: "hello@sha256:abc", wantErr: true},
		{ref: "a//b", wantErr: true},
		{ref: "he llo", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			host, repo, tag, err := SplitRef(tc.ref)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("SplitRef(%q) = %q %q %q, want error", tc.ref, host, repo, tag)
				}
				return
			}
			if err != nil || host != tc.host || repo != tc.repo || tag != tc.tag {
				t.Fatalf("SplitRef(%q) = %q %q %q %v, want %q %q %q", tc.ref, host, repo, tag, err, tc.host, tc.repo, tc.tag)
			}
		})
	}
}
