package process

import (
	"strings"
	"testing"
)

func TestPhases(t *testing.T) {
	var off *Phases = NewPhases(false)
	off.Mark("a")
	off.Add("x=1ms")
	if off != nil || off.String() != "" {
		t.Fatalf("disabled phases recorded %q", off.String())
	}
	p := NewPhases(true)
	p.Mark("prepare")
	p.Add("")
	p.Add("init[root=1ms]")
	p.Mark("ready")
	parts := strings.Fields(p.String())
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "prepare=") || parts[1] != "init[root=1ms]" || !strings.HasPrefix(parts[2], "ready=") {
		t.Fatalf("phases = %q", p.String())
	}
}
