package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"

	"github.com/fjord-faas/fjord/internal/runtime/process"
	"github.com/fjord-faas/fjord/internal/sandbox"
)

// newSandbox returns the namespace + cgroup sandbox; it fails when not root.
// Functions never see the state dir: it holds other functions' secrets and files.
func newSandbox(stateDir string, log *slog.Logger) (process.Sandbox, error) {
	cfg := sandbox.Default()
	cfg.HideDirs = []string{stateDir}
	cfg.WorkRoot = filepath.Join(stateDir, "process", "work")
	// One cgroup parent per state dir, so that the stale-cgroup sweep at start-up
	// never touches the replicas of another fjord daemon on the same host.
	sum := sha256.Sum256([]byte(stateDir))
	cfg.CgroupPrefix = "fjord-" + hex.EncodeToString(sum[:4])
	cfg.Logger = log
	sb, err := sandbox.New(cfg)
	if err != nil {
		return nil, err
	}
	return sb, nil
}
