package client

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fjord-faas/fjord/internal/stack"
)

// AuthBasic and AuthOAuth2 are the `auth` kinds of faas-cli's credential store.
const (
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2"
)

// Credentials are the stored credentials of one gateway.
type Credentials struct {
	// Kind is AuthBasic or AuthOAuth2; empty when nothing is stored.
	Kind               string
	Username, Password string
	// Token is the bearer token for oauth2 entries.
	Token string
}

// Options returns client options carrying these credentials.
func (c Credentials) Options() Options {
	return Options{Username: c.Username, Password: c.Password, Token: c.Token}
}

type authEntry struct {
	Gateway string `yaml:"gateway"`
	Auth    string `yaml:"auth"`
	Token   string `yaml:"token"`
	// Options are kept so that rewriting the file loses nothing faas-cli stored.
	Options map[string]string `yaml:"options,omitempty"`
}

type configFile struct {
	Auths []authEntry `yaml:"auths"`
}

// ConfigDir is faas-cli's config directory: $OPENFAAS_CONFIG if set, ./.openfaas
// when CI is "true" or "1", else ~/.openfaas.
func ConfigDir() (string, error) {
	if d := os.Getenv("OPENFAAS_CONFIG"); d != "" {
		return d, nil
	}
	if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
		return ".openfaas", nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".openfaas"), nil
}

// ConfigPath is ConfigDir()/config.yml.
func ConfigPath() (string, error) {
	dir, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config.yml"), nil
}

func readConfig() (configFile, string, error) {
	var cfg configFile
	path, err := ConfigPath()
	if err != nil {
		return cfg, "", err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return cfg, path, fmt.Errorf("read credentials: %w", err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return cfg, path, fmt.Errorf("parse credentials %s: %w", path, err)
	}
	return cfg, path, nil
}

// LoadAuth returns the stored credentials of a gateway; zero Credentials and no
// error when none are stored.
func LoadAuth(gateway string) (Credentials, error) {
	cfg, path, err := readConfig()
	if err != nil {
		return Credentials{}, err
	}
	key := stack.NormalizeGateway(gateway)
	for _, e := range cfg.Auths {
		if stack.NormalizeGateway(e.Gateway) != key {
			continue
		}
		if e.Auth != AuthBasic {
			return Credentials{Kind: e.Auth, Token: e.Token}, nil
		}
		raw, err := base64.StdEncoding.DecodeString(e.Token)
		if err != nil {
			return Credentials{}, fmt.Errorf("decode credentials of %s in %s: %w", key, path, err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return Credentials{}, fmt.Errorf("decode credentials of %s in %s: no ':' in token", key, path)
		}
		return Credentials{Kind: AuthBasic, Username: user, Password: pass}, nil
	}
	return Credentials{}, nil
}

// SaveAuth stores basic-auth credentials for a gateway, replacing any entry with
// the same normalised URL. The directory is made 0700 and the file 0600.
func SaveAuth(gateway, username, password string) error {
	cfg, path, err := readConfig()
	if err != nil {
		return err
	}
	key := stack.NormalizeGateway(gateway)
	entry := authEntry{Gateway: key, Auth: AuthBasic, Token: base64.StdEncoding.EncodeToString([]byte(username + ":" + password))}
	for i, e := range cfg.Auths {
		if stack.NormalizeGateway(e.Gateway) == key {
			cfg.Auths[i] = entry
			return writeConfig(path, cfg)
		}
	}
	cfg.Auths = append(cfg.Auths, entry)
	return writeConfig(path, cfg)
}

// RemoveAuth deletes a gateway's stored credentials; it is not an error if none exist.
func RemoveAuth(gateway string) error {
	cfg, path, err := readConfig()
	if err != nil {
		return err
	}
	key := stack.NormalizeGateway(gateway)
	kept := cfg.Auths[:0]
	for _, e := range cfg.Auths {
		if stack.NormalizeGateway(e.Gateway) != key {
			kept = append(kept, e)
		}
	}
	cfg.Auths = kept
	return writeConfig(path, cfg)
}

func writeConfig(path string, cfg configFile) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	data := buf.Bytes()
	tmp, err := os.CreateTemp(dir, ".config-*.yml")
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("restrict credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}
