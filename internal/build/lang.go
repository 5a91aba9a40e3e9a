package build

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strings"
)

// languageSteps runs what a template's Dockerfile would: pip install for
// Python templates, go build for the Go template.
func languageSteps(ctx context.Context, tfs fs.FS, t Template, tr *tree, opts Options) error {
	if _, err := fs.Stat(tfs, "main.go.txt"); err == nil {
		return goBuild(ctx, tfs, t, tr, opts)
	}
	if isGoModule(tfs) {
		return goBuildModule(ctx, tr, opts)
	}
	if _, err := fs.Stat(tfs, "index.py"); err == nil {
		// The template's own requirements first (upstream templates list
		// their server there), then the handler's.
		if err := pipInstall(ctx, tr, opts, tfs); err != nil {
			return err
		}
		return pipInstall(ctx, tr, opts, nil)
	}
	return nil
}

// hasRequirements reports whether a requirements.txt names any package.
func hasRequirements(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			return true
		}
	}
	return false
}

// pipInstall installs the handler's requirements.txt, or the template's when
// tfs is set, into /home/app/python.
func pipInstall(ctx context.Context, tr *tree, opts Options, tfs fs.FS) error {
	dir, req := opts.Handler, filepath.Join(opts.Handler, "requirements.txt")
	if tfs != nil {
		b, err := fs.ReadFile(tfs, "requirements.txt")
		if err != nil || !hasRequirements(b) {
			return nil
		}
		tmp, err := os.MkdirTemp("", "fjord-req-")
		if err != nil {
			return fmt.Errorf("install python packages: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir, req = tmp, filepath.Join(tmp, "requirements.txt")
		if err := os.WriteFile(req, b, 0o644); err != nil {
			return fmt.Errorf("install python packages: %w", err)
		}
	} else if b, err := os.ReadFile(req); err != nil || !hasRequirements(b) {
		return nil
	}
	target, err := os.MkdirTemp("", "fjord-pip-")
	if err != nil {
		return fmt.Errorf("install python packages: %w", err)
	}
	defer os.RemoveAll(target)
	opts.progress("installing python packages from %s", req)
	cmd := exec.CommandContext(ctx, "python3", "-m", "pip", "install", "--no-input",
		"--disable-pip-version-check", "--no-warn-script-location", "--no-compile", "--target", target, "-r", "requirements.txt")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), buildArgEnv(opts.BuildArgs)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("install python packages with pip failed (the package index may be unreachable from this machine): %w\n%s", err, lastLines(out, 8))
	}
	if err := tr.addDir(target, path.Join(appDir, "python"), nil); err != nil {
		return fmt.Errorf("add python packages: %w", err)
	}
	return nil
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+"?([^\s"]+)"?`)
var goLine = regexp.MustCompile(`(?m)^go\s+(\S+)`)

// goBuild compiles the template's main.go.txt with the handler into a static
// /home/app/handler. A handler with its own go.mod is wired in by a replace
// directive; one without becomes the package handler/function.
func goBuild(ctx context.Context, tfs fs.FS, t Template, tr *tree, opts Options) error {
	goBin, err := findGo()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "fjord-go-")
	if err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	defer os.RemoveAll(work)
	hf := path.Clean(t.handlerFolder())
	if err := tr.writeSubtree(path.Join(appDir, hf), filepath.Join(work, "function")); err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	mainSrc, err := fs.ReadFile(tfs, "main.go.txt")
	if err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	modPath, err := writeGoMod(work)
	if err != nil {
		return err
	}
	mainSrc = bytes.ReplaceAll(mainSrc, []byte(`"handler/function"`), []byte(`"`+modPath+`"`))
	if err := os.WriteFile(filepath.Join(work, "main.go"), mainSrc, 0o644); err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	return compileGo(ctx, goBin, work, tr, opts)
}

// isGoModule reports an OpenFaaS-style Go template (golang-middleware, ...):
// main.go and go.mod at the top, the handler wired in by its own go.mod.
func isGoModule(tfs fs.FS) bool {
	_, errMain := fs.Stat(tfs, "main.go")
	_, errMod := fs.Stat(tfs, "go.mod")
	return errMain == nil && errMod == nil
}

// goBuildModule compiles /home/app as laid out, as the template's
// Dockerfile would.
func goBuildModule(ctx context.Context, tr *tree, opts Options) error {
	goBin, err := findGo()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "fjord-go-")
	if err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	defer os.RemoveAll(work)
	if err := tr.writeSubtree(appDir, work); err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	return compileGo(ctx, goBin, work, tr, opts)
}

// compileGo builds the main package in work into /home/app/handler.
func compileGo(ctx context.Context, goBin, work string, tr *tree, opts Options) error {
	opts.progress("compiling go handler with %s", goBin)
	out := filepath.Join(work, "handler.bin")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH,
		"GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Env = append(cmd.Env, buildArgEnv(opts.BuildArgs)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compile go handler: %w\n%s", err, lastLines(b, 30))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return fmt.Errorf("compile go handler: %w", err)
	}
	tr.addFile(path.Join(appDir, "handler"), bin, true)
	return nil
}

// writeGoMod writes work/go.mod and returns the import path of the handler.
func writeGoMod(work string) (string, error) {
	fnMod, err := os.ReadFile(filepath.Join(work, "function", "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		mod := "module handler\n\ngo 1.22\n"
		return "handler/function", os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod), 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("read handler go.mod: %w", err)
	}
	m := moduleLine.FindSubmatch(fnMod)
	if m == nil {
		return "", errors.New("handler go.mod has no module line")
	}
	modPath, goVer := string(m[1]), "1.22"
	if g := goLine.FindSubmatch(fnMod); g != nil {
		goVer = string(g[1])
	}
	mod := fmt.Sprintf("module handler\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => ./function\n", goVer, modPath, modPath)
	if modPath == "handler" {
		return "", errors.New(`handler go.mod must not use the module path "handler"; use e.g. "handler/function"`)
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod), 0o644); err != nil {
		return "", fmt.Errorf("write go.mod: %w", err)
	}
	if sum, err := os.ReadFile(filepath.Join(work, "function", "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644); err != nil {
			return "", fmt.Errorf("write go.sum: %w", err)
		}
	}
	return modPath, nil
}

func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/local/go/bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("compile go handler: the go toolchain was not found on PATH or in /usr/local/go/bin; install Go to build go functions")
}

func buildArgEnv(args map[string]string) []string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+args[k])
	}
	return env
}

// lastLines returns the last n lines of a command's output.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
