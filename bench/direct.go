package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjord-faas/fjord/internal/sockaddr"
	"github.com/fjord-faas/fjord/internal/watchdog"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// directServer is a function's server started by the bench outside fjord:
// no gateway, no sandbox.
type directServer struct {
	addr string // host:port, or unix:@name (see internal/sockaddr)
	url  string // for vegeta only when addr is TCP
	cmd  *exec.Cmd
}

// startDirect unpacks the OCI layout in layoutDir under root and runs the
// function there without fjord serve and without the sandbox.
//
// kind is "handler" (fprocess alone, with PORT), "handler-socket" (the same on
// an abstract Unix socket handed over as fd 3, as fjord's watchdog starts it) or
// "watchdog" (`fjord watchdog` with the image's environment; http-mode images
// get fjord_auto_upstream so the handler's address is picked freely).
func startDirect(ctx context.Context, bin, layoutDir, root, kind string) (*directServer, error) {
	img, err := loadLayout(layoutDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(root); err != nil {
		if err := unpack(img, root); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), cf.Config.Env...)
	wd := filepath.Join(root, cf.Config.WorkingDir)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var cmd *exec.Cmd
	if kind == "handler" || kind == "handler-socket" {
		fprocess := envValue(cf.Config.Env, "fprocess")
		args := strings.Fields(fprocess)
		if len(args) == 0 {
			return nil, errors.New("start direct: image has no fprocess")
		}
		cmd = exec.Command(filepath.Join(wd, args[0]), args[1:]...)
		if kind == "handler" {
			env = append(env, "PORT="+strconv.Itoa(port))
		} else {
			if addr, err = sockaddr.NewAbstract("fjord-bench"); err != nil {
				return nil, err
			}
			// As fjord's watchdog starts it (fjord_upstream_socket=inherit):
			// listening already, as fd 3.
			f, err := sockaddr.ListenFile(addr)
			if err != nil {
				return nil, fmt.Errorf("start direct: %w", err)
			}
			defer f.Close()
			cmd.ExtraFiles = []*os.File{f}
			env = append(env, watchdog.SocketFDEnv+"=3")
		}
	} else {
		bin, err := filepath.Abs(bin)
		if err != nil {
			return nil, fmt.Errorf("start direct: %w", err)
		}
		cmd = exec.Command(bin, "watchdog")
		env = append(env, "port="+strconv.Itoa(port), "metrics_port=0", "suppress_lock=true",
			"prefix_logs=false", "fjord_auto_upstream=true")
	}
	cmd.Dir, cmd.Env = wd, env
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start direct: %w", err)
	}
	s := &directServer{addr: addr, url: "http://" + sockaddr.URLHost(addr) + "/", cmd: cmd}
	if err := waitOK(ctx, s.url, 20*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *directServer) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// loadLayout reads the first image of an OCI layout directory.
func loadLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load layout: %w", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load layout: %w", err)
	}
	for _, desc := range m.Manifests {
		if desc.MediaType.IsImage() {
			return idx.Image(desc.Digest)
		}
	}
	return nil, fmt.Errorf("load layout: no image in %s", dir)
}

// unpack writes the image's flattened file system under root.
func unpack(img v1.Image, root string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack image: %w", err)
		}
		if err := writeEntry(tr, h, root); err != nil {
			return fmt.Errorf("unpack image: %w", err)
		}
	}
}

func writeEntry(r io.Reader, h *tar.Header, root string) error {
	p := filepath.Join(root, filepath.Clean("/"+h.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(p, 0o755)
	case tar.TypeSymlink:
		return os.Symlink(h.Linkname, p)
	case tar.TypeReg:
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}
