package daemon

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Credential file names, as OpenFaaS uses them.
const (
	userFile     = "basic-auth-user"
	passwordFile = "basic-auth-password"
)

// credentials holds the admin login for /system/* and registry pushes.
type credentials struct {
	User, Password string
	PasswordPath   string
	Generated      bool
}

// loadOrCreateCredentials reads <dir>/basic-auth-{user,password}; on first start it
// writes user "admin" and a random password, both mode 0600.
func loadOrCreateCredentials(dir string) (credentials, error) {
	c := credentials{PasswordPath: filepath.Join(dir, passwordFile)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, fmt.Errorf("create secrets dir: %w", err)
	}
	user, uerr := os.ReadFile(filepath.Join(dir, userFile))
	pass, perr := os.ReadFile(c.PasswordPath)
	if uerr == nil && perr == nil {
		c.User, c.Password = strings.TrimSpace(string(user)), strings.TrimSpace(string(pass))
		if c.User != "" && c.Password != "" {
			return c, nil
		}
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return c, fmt.Errorf("generate password: %w", err)
	}
	c.User, c.Password, c.Generated = "admin", base64.RawURLEncoding.EncodeToString(buf), true
	if err := os.WriteFile(filepath.Join(dir, userFile), []byte(c.User), 0o600); err != nil {
		return c, fmt.Errorf("write %s: %w", userFile, err)
	}
	if err := os.WriteFile(c.PasswordPath, []byte(c.Password), 0o600); err != nil {
		return c, fmt.Errorf("write %s: %w", passwordFile, err)
	}
	return c, nil
}
