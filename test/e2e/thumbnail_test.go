package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fjord-faas/fjord/internal/testenv"
)

// TestThumbnailExample deploys examples/thumbnail (a python3 handler that writes
// to /tmp with Pillow) and posts a JPEG to it.
func TestThumbnailExample(t *testing.T) {
	testenv.Need(t, exec.Command("/usr/bin/python3", "-c", "import PIL").Run() == nil,
		"Debian's python3-pil is not installed (apt-get install python3-pil)")
	d := startDaemon(t)
	d.login(t)
	dir := filepath.Join(testenv.ModuleRoot(t), "examples", "thumbnail")
	d.mustCLI(t, dir, "", "up", "-f", "stack.yml", "--gateway", "http://"+d.addr)

	src := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for x := 0; x < 640; x++ {
		for y := 0; y < 480; y++ {
			src.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, nil); err != nil {
		t.Fatal(err)
	}
	var code int
	var body string
	waitFor(t, "thumbnail to answer", 60*time.Second, func() bool {
		code, body, _ = invoke(t, "POST", d.url("/function/thumbnail"), buf.String())
		return code != 503 && code != 502
	})
	if code != 200 {
		t.Fatalf("thumbnail: %d %q\n%s", code, body, d.output())
	}
	img, err := jpeg.Decode(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("response is not a JPEG (%d bytes): %v", len(body), err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 96 {
		t.Fatalf("thumbnail is %dx%d, want 128x96", b.Dx(), b.Dy())
	}
}
