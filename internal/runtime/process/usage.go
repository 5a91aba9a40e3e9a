package process

import (
	"context"
	"time"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// usageSample is a replica's cumulative CPU time at one moment.
type usageSample struct {
	at  time.Time
	cpu float64
}

// Usage sums CPU (cores, averaged since the previous call or the replica's
// start) and resident memory over the function's running replicas.
func (rt *Runtime) Usage(_ context.Context, ref runtime.Ref) (runtime.Usage, error) {
	f, err := rt.lookup(ref)
	if err != nil {
		return runtime.Usage{}, err
	}
	type running struct {
		id      string
		proc    Process
		started time.Time
	}
	f.mu.Lock()
	var rs []running
	for _, group := range [][]*replica{f.retiring, f.replicas} {
		for _, r := range group {
			if r.proc != nil {
				rs = append(rs, running{r.id, r.proc, r.startedAt})
			}
		}
	}
	f.mu.Unlock()

	var u runtime.Usage
	now := time.Now()
	seen := map[string]usageSample{}
	for _, r := range rs {
		cpu, mem, err := r.proc.Usage()
		if err != nil {
			continue // exited meanwhile
		}
		u.MemoryBytes += mem
		f.mu.Lock()
		prev, ok := f.usage[r.id]
		f.mu.Unlock()
		if !ok || cpu < prev.cpu {
			prev = usageSample{at: r.started}
			if r.started.IsZero() {
				prev.at = now
			}
		}
		if dt := now.Sub(prev.at).Seconds(); dt > 0 {
			u.CPU += (cpu - prev.cpu) / dt
		}
		seen[r.id] = usageSample{at: now, cpu: cpu}
	}
	f.mu.Lock()
	f.usage = seen
	f.mu.Unlock()
	return u, nil
}
