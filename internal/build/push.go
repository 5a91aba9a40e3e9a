package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions says where and how to push.
type PushOptions struct {
	// Image is the full reference, e.g. "127.0.0.1:8080/hello:latest".
	Image string
	// Username and Password are Basic credentials; empty means the default
	// keychain (docker config).
	Username, Password string
	// Progress, when set, is called as bytes are uploaded.
	Progress func(written, total int64)
}

// Push uploads img and returns its manifest digest. Registries on 127.* and
// localhost are reached over plain http.
func Push(ctx context.Context, img v1.Image, opts PushOptions) (string, error) {
	ref, err := name.ParseReference(opts.Image, nameOptions(opts.Image)...)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", opts.Image, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx)}
	if opts.Username != "" || opts.Password != "" {
		ropts = append(ropts, remote.WithAuth(&authn.Basic{Username: opts.Username, Password: opts.Password}))
	} else {
		ropts = append(ropts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	var done chan struct{}
	if opts.Progress != nil {
		updates := make(chan v1.Update, 16)
		done = make(chan struct{})
		ropts = append(ropts, remote.WithProgress(updates))
		go func() {
			defer close(done)
			for u := range updates {
				if u.Error != nil {
					continue // reported by remote.Write's return
				}
				opts.Progress(u.Complete, u.Total)
			}
		}()
	}
	err = remote.Write(ref, img, ropts...)
	if done != nil {
		<-done // remote.Write closes the updates channel
	}
	if err != nil {
		return "", fmt.Errorf("push %s: %w", opts.Image, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", opts.Image, err)
	}
	return d.String(), nil
}

// nameOptions allows plain http for registries on this machine.
func nameOptions(ref string) []name.Option {
	host, _, _ := strings.Cut(ref, "/")
	if strings.HasPrefix(host, "127.") || host == "localhost" || strings.HasPrefix(host, "localhost:") || strings.HasPrefix(host, "[::1]") {
		return []name.Option{name.Insecure}
	}
	return nil
}
