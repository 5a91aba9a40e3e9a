package process

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/image"
)

// binaries built once per test run.
var bins struct {
	dir       string
	fake      string   // testdata/fakewatchdog
	fjord     string   // ./cmd/fjord, "" when it does not build or lacks the watchdog
	fjordArgs []string // the Watchdog command
	fjordSkip string
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("FJORD_PROCESS_TEST_DAEMON"); dir != "" {
		runTestDaemon(dir, os.Getenv("FJORD_PROCESS_TEST_WATCHDOG"))
		return
	}
	dir, err := os.MkdirTemp("", "fjord-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	flag.Parse()
	code := func() int {
		bins.fake = filepath.Join(dir, "fakewatchdog")
		if out, err := exec.Command("go", "build", "-o", bins.fake, "./testdata/fakewatchdog").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build fake watchdog: %v\n%s", err, out)
			return 1
		}
		buildFjord(dir)
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFjord builds the real binary; tests that need it skip with the reason
// when it does not build (other packages mid-edit) or its watchdog is a placeholder.
func buildFjord(dir string) {
	if testing.Short() {
		bins.fjordSkip = "-short: not building ./cmd/fjord"
		return
	}
	p := filepath.Join(dir, "fjord")
	cmd := exec.Command("go", "build", "-o", p, "./cmd/fjord")
	cmd.Dir = "../../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		// Fall back to the watchdog package alone.
		bins.fjordSkip = fmt.Sprintf("./cmd/fjord does not build: %v\n%s", err, out)
		wd := filepath.Join(dir, "watchdog")
		out2, err2 := exec.Command("go", "build", "-o", wd, "./testdata/watchdog").CombinedOutput()
		if err2 != nil {
			bins.fjordSkip += fmt.Sprintf("\nand ./testdata/watchdog does not build: %v\n%s", err2, out2)
			return
		}
		bins.fjord, bins.fjordArgs = wd, []string{wd}
		return
	}
	out, _ := exec.Command(p, "watchdog", "--help").CombinedOutput()
	if strings.Contains(string(out), "not implemented") {
		bins.fjordSkip = "fjord watchdog is still a placeholder"
		return
	}
	bins.fjord, bins.fjordArgs = p, []string{p, "watchdog"}
}

// fakeImages resolves every ref to one host-runtime bundle over a temp dir and
// counts the calls.
type fakeImages struct {
	root string
	mu   sync.Mutex
	n    map[string]int
	fail map[string]error
}

func newFakeImages(t *testing.T) *fakeImages {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "home", "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeImages{root: root, n: map[string]int{}, fail: map[string]error{}}
}

func (f *fakeImages) Prepare(_ context.Context, ref string) (image.Bundle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[ref]++
	if err := f.fail[ref]; err != nil {
		return image.Bundle{}, err
	}
	return image.Bundle{
		Digest:      "sha256:0000",
		RootFS:      f.root,
		WorkingDir:  "/home/app",
		Env:         []string{"PATH=/usr/bin:/bin", "from_image=yes", "shadowed=image"},
		HostRuntime: true,
	}, nil
}

// newTestRuntime returns an unstarted runtime with short timeouts.
func newTestRuntime(t *testing.T, watchdog []string, mutate ...func(*Config)) (*Runtime, *fakeImages) {
	t.Helper()
	imgs := newFakeImages(t)
	cfg := Config{
		StateDir:     t.TempDir(),
		Watchdog:     watchdog,
		Images:       imgs,
		StopTimeout:  5 * time.Second,
		ReadyTimeout: 10 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	rt, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rt, imgs
}
