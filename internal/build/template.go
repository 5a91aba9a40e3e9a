// Package build turns a template and a handler folder into an OCI image
// without a Docker daemon: one layer with the template's files at /home/app
// and the handler under it, and a config that runs the watchdog.
package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/fjord-faas/fjord/templates"
)

// Template is a template's template.yml.
type Template struct {
	Language       string        `yaml:"language"`
	Fprocess       string        `yaml:"fprocess"`
	WelcomeMessage string        `yaml:"welcome_message"`
	HandlerFolder  string        `yaml:"handler_folder"`
	BuildOptions   []BuildOption `yaml:"build_options"`
	// Environment is a fjord extension: variables baked into the image
	// config (mode, upstream_url, ...), as a Dockerfile's ENV would be.
	Environment map[string]string `yaml:"environment"`
}

// BuildOption is a named set of packages (template.yml build_options).
type BuildOption struct {
	Name     string   `yaml:"name"`
	Packages []string `yaml:"packages"`
}

// handlerFolder is where the handler goes inside /home/app.
func (t Template) handlerFolder() string {
	if t.HandlerFolder != "" {
		return filepath.Clean(t.HandlerFolder)
	}
	return "function"
}

// templateFS returns the files of template lang: <templateDir>/<lang> when it
// exists, else the embedded one.
func templateFS(lang, templateDir string) (fs.FS, error) {
	if lang == "" {
		return nil, errors.New("no language given")
	}
	if lang != filepath.Base(lang) || lang == "." || lang == ".." {
		return nil, fmt.Errorf("invalid language %q", lang)
	}
	if templateDir != "" {
		dir := filepath.Join(templateDir, lang)
		if _, err := os.Stat(filepath.Join(dir, "template.yml")); err == nil {
			return os.DirFS(dir), nil
		}
	}
	if _, err := fs.Stat(templates.FS, lang+"/template.yml"); err != nil {
		langs, _ := Languages(templateDir)
		return nil, fmt.Errorf("template %q not found (available: %v)", lang, langs)
	}
	return fs.Sub(templates.FS, lang)
}

// LoadTemplate reads template.yml of lang, from templateDir or embedded.
func LoadTemplate(lang, templateDir string) (Template, error) {
	tfs, err := templateFS(lang, templateDir)
	if err != nil {
		return Template{}, fmt.Errorf("load template: %w", err)
	}
	return readTemplate(tfs, lang)
}

func readTemplate(tfs fs.FS, lang string) (Template, error) {
	b, err := fs.ReadFile(tfs, "template.yml")
	if err != nil {
		return Template{}, fmt.Errorf("load template %s: %w", lang, err)
	}
	var t Template
	if err := yaml.Unmarshal(b, &t); err != nil {
		return Template{}, fmt.Errorf("parse template.yml of %s: %w", lang, err)
	}
	if t.Language == "" {
		t.Language = lang
	}
	return t, nil
}

// Languages lists the embedded templates and those in templateDir, sorted.
func Languages(templateDir string) ([]string, error) {
	set := map[string]bool{}
	entries, err := fs.ReadDir(templates.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			set[e.Name()] = true
		}
	}
	if templateDir != "" {
		entries, err := os.ReadDir(templateDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("list templates in %s: %w", templateDir, err)
		}
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(templateDir, e.Name(), "template.yml")); err == nil {
				set[e.Name()] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Strings(out)
	return out, nil
}
