package cli

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fjord-faas/fjord/internal/build"
	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/stack"
)

type pushOpts struct {
	stackOpts
}

// newPushCmd pushes the images saved by build.
func newPushCmd() *cobra.Command {
	o := &pushOpts{}
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Push the built images of a stack file",
		Long: `Push each function's image from ./build/NAME. An image without a registry
host (e.g. "hello:latest") goes to the gateway's own registry,
<gateway host:port>/hello:latest, with the gateway's stored credentials; other
images go to the registry they name.`,
		Example: `  fjord push
  fjord push -f stack.yml -g http://10.0.0.5:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.loadStack(true)
			if err != nil {
				return err
			}
			fns, err := st.Select(o.filter, o.regex)
			if err != nil {
				return err
			}
			return o.pushFunctions(cmd, st, fns)
		},
	}
	o.addGatewayFlags(cmd)
	o.addFilterFlags(cmd)
	return cmd
}

// pushTarget returns where an image goes: its own registry, or the gateway's
// registry (with the gateway's credentials) when it names no host.
func (o *gatewayOpts) pushTarget(gw, ref string) (build.PushOptions, error) {
	host, repo, tag, err := image.SplitRef(ref)
	if err != nil {
		return build.PushOptions{}, err
	}
	if host != "" {
		return build.PushOptions{Image: ref}, nil
	}
	u, err := url.Parse(gw)
	if err != nil {
		return build.PushOptions{}, fmt.Errorf("parse gateway URL: %w", err)
	}
	sep := ":"
	if strings.HasPrefix(tag, "sha256:") {
		sep = "@"
	}
	creds, err := o.credentials(gw)
	if err != nil {
		return build.PushOptions{}, err
	}
	return build.PushOptions{Image: u.Host + "/" + repo + sep + tag, Username: creds.Username, Password: creds.Password}, nil
}

func (o *pushOpts) pushFunctions(cmd *cobra.Command, st *stack.Stack, fns []stack.Function) error {
	gw := o.gatewayURL(cmd, st)
	stderr := cmd.ErrOrStderr()
	var errs []error
	for _, fn := range fns {
		if fn.SkipBuild {
			continue
		}
		img, err := build.LoadLayout(filepath.Join(buildDir, fn.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("push %s: run \"fjord build\" first: %w", fn.Name, err))
			continue
		}
		opts, err := o.pushTarget(gw, fn.Image)
		if err != nil {
			errs = append(errs, fmt.Errorf("push %s: %w", fn.Name, err))
			continue
		}
		fmt.Fprintf(stderr, "Pushing: %s to %s.\n", fn.Name, opts.Image)
		var bar *progressbar.ProgressBar
		if isTTY(stderr) {
			bar = newBytesBar(cmd, fn.Name)
			opts.Progress = func(written, total int64) {
				bar.ChangeMax64(total)
				_ = bar.Set64(written)
			}
		}
		digest, err := build.Push(cmd.Context(), img, opts)
		if bar != nil {
			_ = bar.Finish()
		}
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(stderr, "Failed: %s.\n", fn.Name)
			continue
		}
		fmt.Fprintf(stderr, "Pushed: %s %s\n", opts.Image, digest)
	}
	return errors.Join(errs...)
}

func newBytesBar(cmd *cobra.Command, name string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(cmd.ErrOrStderr()) }),
	)
}
