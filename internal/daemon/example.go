package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/fjord-faas/fjord/internal/api"
	"github.com/fjord-faas/fjord/internal/build"
)

// exampleName is the function `fjord serve --example` deploys.
const exampleName = "hello"

// deployExample builds the python3 template's starter handler in-process, pushes it
// to the embedded registry and deploys it as "hello", unless it is deployed already.
func (d *Daemon) deployExample(ctx context.Context) error {
	if _, err := d.control.Get(ctx, api.DefaultNamespace, exampleName, false); err == nil {
		return nil
	} else if !errors.Is(err, api.ErrNotFound) {
		return err
	}
	work, err := os.MkdirTemp("", "fjord-example-")
	if err != nil {
		return fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(work)
	handler := filepath.Join(work, exampleName)
	if err := build.NewFunction("python3", exampleName, handler, ""); err != nil {
		return err
	}
	ref := exampleName + ":latest"
	img, err := build.Build(ctx, build.Options{Name: exampleName, Lang: "python3", Handler: handler, Image: ref})
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(d.gateway.Addr())
	if _, err := build.Push(ctx, img, build.PushOptions{
		Image: "127.0.0.1:" + port + "/" + ref, Username: d.creds.User, Password: d.creds.Password,
	}); err != nil {
		return err
	}
	labels := map[string]string{}
	err = d.control.Deploy(ctx, api.FunctionDeployment{Service: exampleName, Image: ref, Labels: &labels}, false)
	if err == nil {
		d.log.Info("example function deployed", "function", exampleName, "image", ref)
	}
	return err
}
