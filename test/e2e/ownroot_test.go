package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// busyboxImage packs Debian's static busybox as the only file of an OCI image:
// an image that carries its own root filesystem and no watchdog.
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	return osImage(t, nil, v1.Config{Env: []string{"PATH=/bin"}, WorkingDir: "/"})
}

// osImage packs busybox plus extra files (path → host file) with the given config.
func osImage(t *testing.T, extra map[string]string, cfg v1.Config) v1.Image {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	testenv.Need(t, err == nil, "/bin/busybox is missing (apt-get install busybox-static)")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bb)
		}
	}
	for target, src := range extra {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: target, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestOwnRootImage pushes an image with its own root filesystem to the embedded
// registry and deploys it the way `faas-cli deploy --image X --fprocess CMD` does.
func TestOwnRootImage(t *testing.T) {
	testenv.NeedRoot(t)
	img := busyboxImage(t)
	d := startDaemon(t)
	ref, err := name.ParseReference(d.addr+"/busybox:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: d.user, Password: d.password})); err != nil {
		t.Fatalf("push to the embedded registry: %v", err)
	}
	anon, _ := name.ParseReference(d.addr+"/busybox:anonymous", name.Insecure)
	if err := remote.Write(anon, img); err == nil {
		t.Fatal("anonymous push to the embedded registry succeeded")
	}
	body := `{"service":"bbox","image":"busybox:1","envProcess":"/bin/busybox sh","readOnlyRootFilesystem":true}`
	if code, out := d.do("POST", "/system/functions", body); code != 202 {
		t.Fatalf("deploy: %d %s", code, out)
	}
	waitAvailable(t, d, "bbox", 1)
	cases := []struct{ script, want string }{
		{"echo olleh | rev", "hello"},
		{"ls /", "bin"},
		{"echo x > /tmp/a && cat /tmp/a", "x"},
		{"touch /bin/new 2>/dev/null; echo rc=$?", "rc=1"},
		{"id -u", ""},
	}
	for _, c := range cases {
		var code int
		var out string
		waitFor(t, "bbox to answer", 20*time.Second, func() bool {
			code, out, _ = invoke(t, "POST", d.url("/function/bbox"), c.script)
			return code != 502 && code != 503
		})
		if code != 200 || !strings.Contains(out, c.want) {
			t.Errorf("%q: %d %q, want %q", c.script, code, out, c.want)
		}
		if c.script == "ls /" && (strings.Contains(out, "home") || strings.Contains(out, "etc")) {
			t.Errorf("the function sees the host root: %q", out)
		}
		if c.script == "id -u" && strings.TrimSpace(out) == "0" {
			t.Errorf("the function runs as root")
		}
	}
	// The overlay root is mounted in the replica's own mount namespace only.
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mi), d.stateDir) {
		t.Fatalf("host mount table mentions %s (err %v)", d.stateDir, err)
	}
	if code, out := d.do("DELETE", "/system/functions", `{"functionName":"bbox"}`); code != 202 {
		t.Fatalf("remove: %d %s", code, out)
	}
	waitFor(t, "bbox removed", 20*time.Second, func() bool {
		code, _, _ := invoke(t, "POST", d.url("/function/bbox"), "")
		return code == 404
	})
}

// TestImageWithOwnWatchdog runs an image that brings its own watchdog as
// /usr/bin/fwatchdog (here the fjord binary under that name, as a container image
// would ship it), configured only through the image's environment.
func TestImageWithOwnWatchdog(t *testing.T) {
	testenv.NeedRoot(t)
	d := startDaemon(t)
	img := osImage(t, map[string]string{"usr/bin/fwatchdog": d.bin}, v1.Config{
		Env: []string{"PATH=/usr/bin:/bin", "fprocess=/bin/busybox rev"}, Cmd: []string{"fwatchdog"}, WorkingDir: "/",
	})
	ref, _ := name.ParseReference(d.addr+"/revwd:1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: d.user, Password: d.password})); err != nil {
		t.Fatal(err)
	}
	if code, out := d.do("POST", "/system/functions", `{"service":"revwd","image":"revwd:1"}`); code != 202 {
		t.Fatalf("deploy: %d %s", code, out)
	}
	waitAvailable(t, d, "revwd", 1)
	code, out, _ := invoke(t, "POST", d.url("/function/revwd"), "olleh\n")
	if code != 200 || strings.TrimSpace(out) != "hello" {
		t.Fatalf("revwd: %d %q\n%s", code, out, d.output())
	}
}
