package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fjord-faas/fjord/internal/control"
	"github.com/fjord-faas/fjord/internal/gateway"
	"github.com/fjord-faas/fjord/internal/image"
	"github.com/fjord-faas/fjord/internal/metrics"
	"github.com/fjord-faas/fjord/internal/queue"
	"github.com/fjord-faas/fjord/internal/registry"
	"github.com/fjord-faas/fjord/internal/router"
	"github.com/fjord-faas/fjord/internal/runtime"
	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/store"
)

// Daemon is a running `fjord serve`.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	creds   credentials
	store   *store.Store
	runtime *process.Runtime
	control *control.Service
	gateway *gateway.Server
	queue   *queue.Queue
	debug   *http.Server
}

// New checks the configuration; it starts nothing.
func New(cfg Config) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Daemon{cfg: cfg, log: cfg.Logger}, nil
}

// Addr is the gateway's bound address once Start has returned.
func (d *Daemon) Addr() string { return d.gateway.Addr() }

// Credentials returns the admin user, password and the password file's path.
func (d *Daemon) Credentials() (user, password, path string) {
	return d.creds.User, d.creds.Password, d.creds.PasswordPath
}

// Start brings every component up, restores deployed functions and starts serving.
func (d *Daemon) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			d.Close(context.Background())
		}
	}()
	closeInheritedFDs()
	tuneGC()
	dir := d.cfg.StateDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if d.cfg.Auth {
		if d.creds, err = loadOrCreateCredentials(filepath.Join(dir, "secrets")); err != nil {
			return err
		}
	}
	if d.store, err = store.Open(filepath.Join(dir, "fjord.db"), store.Options{KeyPath: filepath.Join(dir, "secrets", "secrets.key")}); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	regCfg := registry.Config{Dir: filepath.Join(dir, "registry"), Logger: d.log}
	if d.cfg.Auth {
		// Pushes need the admin login; with --auth=false the registry is open like the API.
		regCfg.Authorize = d.authorize
	}
	oci, err := registry.New(regCfg)
	if err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	images := image.NewStore(image.StoreConfig{
		CacheDir:   filepath.Join(dir, "images"),
		Local:      oci.Transport(),
		LocalHosts: localHosts(d.cfg.Listen),
		Logger:     d.log,
	})
	sb, err := d.sandbox(dir)
	if err != nil {
		return err
	}
	if d.runtime, err = process.New(process.Config{
		StateDir: filepath.Join(dir, "process"),
		Images:   images,
		Sandbox:  sb,
		Logger:   d.log,
	}); err != nil {
		return fmt.Errorf("create process runtime: %w", err)
	}
	if d.control, err = control.New(control.Config{
		Store: d.store, Runtime: d.runtime, Logger: d.log, Invocations: m.Invocations,
	}); err != nil {
		return fmt.Errorf("create control plane: %w", err)
	}
	rt := router.New(router.Config{Functions: d.control, Metrics: m, Logger: d.log, SpinWait: d.cfg.SpinWait})
	d.runtime.Subscribe(rt.UpdateEndpoints)
	if err := d.startQueue(ctx, reg); err != nil {
		return err
	}
	async := gateway.NewAsync(gateway.AsyncConfig{
		Queue: d.queue, Functions: d.control, MaxBody: d.cfg.AsyncMaxBody, Logger: d.log,
	})
	if d.gateway, err = gateway.New(gateway.Config{
		Addr: d.cfg.Listen, Control: d.control, Functions: d.control, Router: rt, Metrics: m, Registry: reg,
		OCI: oci, Async: async, Auth: d.auth(),
		MaxBodyBytes: d.cfg.MaxBodyBytes, Logger: d.log,
	}); err != nil {
		return fmt.Errorf("create gateway: %w", err)
	}
	if err := d.runtime.Start(ctx); err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	if err := d.control.Start(ctx); err != nil {
		return fmt.Errorf("restore functions: %w", err)
	}
	if err := d.gateway.Start(ctx); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	// Workers call functions through the gateway's handler, in process, once
	// the stored functions are restored.
	d.queue.StartWorkers(d.gateway.Handler())
	if err := d.startDebug(); err != nil {
		return err
	}
	if d.cfg.Example {
		if err := d.deployExample(ctx); err != nil {
			return fmt.Errorf("deploy example function: %w", err)
		}
	}
	return nil
}

// Close drains the gateway, then the async workers (a call still running when
// ctx ends goes back to the queue, to run again after a restart), then stops
// every replica and closes the state file.
func (d *Daemon) Close(ctx context.Context) error {
	var errs []error
	if d.debug != nil {
		d.debug.Close()
	}
	if d.gateway != nil {
		errs = append(errs, d.gateway.Close(ctx))
	}
	if d.queue != nil {
		errs = append(errs, d.queue.Close(ctx))
	}
	if d.control != nil {
		errs = append(errs, d.control.Close(ctx))
	}
	if d.runtime != nil {
		errs = append(errs, d.runtime.Close(ctx))
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	return errors.Join(errs...)
}

// Capabilities reports what the active runtime enforces.
func (d *Daemon) Capabilities() runtime.Capabilities { return d.runtime.Capabilities() }

func (d *Daemon) authorize(user, pass string) bool { return d.auth().Check(user, pass) }

// auth is the admin login as the gateway checks it.
func (d *Daemon) auth() gateway.Auth {
	return gateway.Auth{Enabled: d.cfg.Auth, User: d.creds.User, Password: d.creds.Password}
}

// sandbox picks the replica sandbox: namespaces + cgroups as root, else none.
func (d *Daemon) sandbox(dir string) (process.Sandbox, error) {
	if d.cfg.Sandbox == "off" {
		d.log.Warn("sandbox disabled: functions run without isolation or resource limits")
		return nil, nil
	}
	sb, err := newSandbox(dir, d.log)
	if err == nil {
		return sb, nil
	}
	if d.cfg.Sandbox == "on" {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	d.log.Warn("sandbox unavailable: functions run without isolation and limits are not enforced", "reason", err.Error())
	return nil, nil
}

// localHosts are the registry hosts that mean "this daemon" in an image reference.
func localHosts(listen string) []string {
	_, port, _ := net.SplitHostPort(listen)
	hosts := []string{"127.0.0.1:" + port, "localhost:" + port}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h+":"+port)
	}
	return hosts
}
