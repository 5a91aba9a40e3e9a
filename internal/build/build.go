package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fjord-faas/fjord/internal/image"
)

// appDir is where the template and the handler live inside the image.
const appDir = "home/app"

// Options says what to build.
type Options struct {
	Name, Lang, Handler, Image string // function name, template name, handler folder, image ref
	BuildArgs                  map[string]string
	BuildOptions               []string  // template.yml build_options names
	TemplateDir                string    // optional "./template": <TemplateDir>/<lang> wins over the embedded templates
	Copy                       []string  // extra paths copied into the build (configuration.copy)
	Progress                   io.Writer // human progress lines; nil = quiet
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Build assembles the image of one function: the template's files at
// /home/app, the handler in its handler folder, and language steps (pip
// install, go build) run on this machine. No Docker daemon is involved.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	img, err := build(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", opts.Name, err)
	}
	return img, nil
}

func build(ctx context.Context, opts Options) (v1.Image, error) {
	tfs, err := templateFS(opts.Lang, opts.TemplateDir)
	if err != nil {
		return nil, err
	}
	t, err := readTemplate(tfs, opts.Lang)
	if err != nil {
		return nil, err
	}
	if t.Environment == nil {
		t.Environment = dockerfileEnv(tfs)
	}
	if err := checkBuildOptions(t, opts); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(opts.Handler); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("handler folder %q not found", opts.Handler)
	}
	opts.progress("building %s with template %s", opts.Name, opts.Lang)
	tr, err := assemble(tfs, t, opts)
	if err != nil {
		return nil, err
	}
	if err := languageSteps(ctx, tfs, t, tr, opts); err != nil {
		return nil, err
	}
	img, err := assembleImage(tr, t)
	if err != nil {
		return nil, err
	}
	if d, err := img.Digest(); err == nil {
		opts.progress("built %s (%s)", opts.Name, d)
	}
	return img, nil
}

// assemble lays out /home/app: template files (not its starting handler or
// template.yml), then the handler and the extra copied paths.
func assemble(tfs fs.FS, t Template, opts Options) (*tree, error) {
	hf := path.Clean(t.handlerFolder())
	tr := newTree()
	skipTemplate := func(p string) bool {
		return p == "template.yml" || p == hf || p == "Dockerfile" || path.Ext(p) == ".txt" && path.Dir(p) == "."
	}
	if err := tr.addFS(tfs, appDir, skipTemplate); err != nil {
		return nil, fmt.Errorf("copy template: %w", err)
	}
	skipHandler := func(p string) bool {
		return p == ".git" || p == "build" || p == "template"
	}
	dst := path.Join(appDir, hf)
	if err := tr.addDir(opts.Handler, dst, skipHandler); err != nil {
		return nil, fmt.Errorf("copy handler: %w", err)
	}
	for _, c := range opts.Copy {
		rel := path.Clean("/" + filepath.ToSlash(c))[1:]
		if err := tr.addDir(c, path.Join(dst, rel), nil); err != nil {
			return nil, fmt.Errorf("copy %s: %w", c, err)
		}
	}
	return tr, nil
}

func checkBuildOptions(t Template, opts Options) error {
	for _, name := range opts.BuildOptions {
		i := slices.IndexFunc(t.BuildOptions, func(b BuildOption) bool { return b.Name == name })
		if i < 0 {
			return fmt.Errorf("build option %q is not defined by template %s", name, opts.Lang)
		}
		if len(t.BuildOptions[i].Packages) > 0 {
			opts.progress("note: build option %q lists system packages %v; images run on the host, so install them on the host", name, t.BuildOptions[i].Packages)
		}
	}
	return nil
}

// assembleImage writes the single layer and the config that runs the watchdog.
func assembleImage(tr *tree, t Template) (v1.Image, error) {
	data, err := tr.tar()
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch()}, CreatedBy: "fjord build", Comment: "template " + t.Language,
	}})
	if err != nil {
		return nil, fmt.Errorf("add layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Created = v1.Time{Time: epoch()}
	cf.Config = v1.Config{
		Env:        imageEnv(t),
		WorkingDir: "/" + appDir,
		Cmd:        []string{"fwatchdog"},
		Labels:     map[string]string{image.LabelHostRuntime: "true"},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	return img, nil
}

// imageEnv is fprocess then the template's environment, sorted by key.
func imageEnv(t Template) []string {
	var env []string
	if t.Fprocess != "" {
		env = append(env, "fprocess="+t.Fprocess)
	}
	keys := make([]string, 0, len(t.Environment))
	for k := range t.Environment {
		if k != "fprocess" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+t.Environment[k])
	}
	return env
}
