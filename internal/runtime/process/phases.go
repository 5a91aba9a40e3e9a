package process

import (
	"strings"
	"time"
)

// Phases records how long the steps of a replica start take, for the debug
// log (fjord serve --log-level debug) that tells where a cold start's time
// goes. A nil *Phases records nothing, so a start pays nothing when debug
// logging is off.
type Phases struct {
	last  time.Time
	parts []string
}

// NewPhases starts recording now when on, else returns nil.
func NewPhases(on bool) *Phases {
	if !on {
		return nil
	}
	return &Phases{last: time.Now()}
}

// Mark records the time since the previous mark (or the start) as step name.
func (p *Phases) Mark(name string) {
	if p == nil {
		return
	}
	now := time.Now()
	p.parts = append(p.parts, name+"="+now.Sub(p.last).Round(time.Microsecond).String())
	p.last = now
}

// Add records a step measured elsewhere (e.g. inside the sandbox init).
func (p *Phases) Add(text string) {
	if p == nil || text == "" {
		return
	}
	p.parts = append(p.parts, text)
}

// String lists the steps in order: "prepare=310µs sandbox=2.1ms ...".
func (p *Phases) String() string {
	if p == nil {
		return ""
	}
	return strings.Join(p.parts, " ")
}
