package process

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/fjord-faas/fjord/internal/runtime"
)

// function is the runtime's state of one deployed function.
type function struct {
	rt   *Runtime
	ref  runtime.Ref
	logs *logStore
	kick chan struct{} // poked on every endpoint change; read by a rolling update

	pubMu     sync.Mutex // serialises publish so listeners see changes in order
	published []runtime.Endpoint

	mu      sync.Mutex
	desired int
	cur     *revision // what new replicas run
	stable  *revision // during a roll: the revision of retiring, restored on failure
	// replicas run cur, oldest first; retiring run stable until a roll completes.
	replicas []*replica
	retiring []*replica
	stopping map[*replica]struct{}
	message  string
	roll     context.CancelFunc
	removed  bool
	usage    map[string]usageSample
	// direct holds the function process's own address of replicas that may be
	// called without their watchdog, with the watchdog address it belongs to.
	direct map[*replica]directRoute
}

// directRoute is a replica's direct address, valid while its watchdog is at via.
type directRoute struct{ via, to string }

// setDirect records that the replica whose watchdog is at via serves calls at to.
func (f *function) setDirect(r *replica, via, to string) {
	f.mu.Lock()
	f.direct[r] = directRoute{via: via, to: to}
	f.mu.Unlock()
}

// clearDirect forgets the direct address of r's run whose watchdog was at via.
func (f *function) clearDirect(r *replica, via string) {
	f.mu.Lock()
	if d, ok := f.direct[r]; ok && d.via == via {
		delete(f.direct, r)
	}
	f.mu.Unlock()
}

// directOf is r's direct address for its current run; f.mu is held.
func (f *function) directOf(r *replica) string {
	if d, ok := f.direct[r]; ok && d.via == r.address {
		return d.to
	}
	return ""
}

func (rt *Runtime) newFunction(ref runtime.Ref) *function {
	return &function{
		rt:       rt,
		ref:      ref,
		logs:     newLogStore(rt.path("logs", ref.Namespace, ref.Name), rt.cfg.LogMaxBytes),
		kick:     make(chan struct{}, 1),
		stopping: map[*replica]struct{}{},
		usage:    map[string]usageSample{},
		direct:   map[*replica]directRoute{},
	}
}

// Apply creates or updates the function; a new Revision re-resolves the image
// and rolls the replicas.
func (rt *Runtime) Apply(ctx context.Context, spec runtime.FunctionSpec) error {
	if spec.Name == "" || spec.Namespace == "" || spec.Replicas < 0 {
		return fmt.Errorf("apply %s: name, namespace and a non-negative replica count are required", spec.Ref)
	}
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return fmt.Errorf("apply %s: %w: %w", spec.Ref, runtime.ErrUnavailable, errClosed)
	}
	f := rt.funcs[spec.Ref]
	if f == nil {
		f = rt.newFunction(spec.Ref)
		f.desired = spec.Replicas
		rt.funcs[spec.Ref] = f
	}
	rt.mu.Unlock()

	f.mu.Lock()
	if f.cur != nil && spec.Revision <= f.cur.spec.Revision {
		// Same revision (or a stale one): only the replica count can change.
		f.desired = spec.Replicas
		f.scaleLocked()
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()

	rev, err := rt.resolve(ctx, spec)
	if err != nil {
		f.mu.Lock()
		f.desired, f.message = spec.Replicas, err.Error()
		f.mu.Unlock()
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removed || (f.cur != nil && spec.Revision <= f.cur.spec.Revision) {
		return nil
	}
	f.update(rev)
	return nil
}

// resolve prepares the image and decides how its replicas run.
func (rt *Runtime) resolve(ctx context.Context, spec runtime.FunctionSpec) (*revision, error) {
	b, err := rt.cfg.Images.Prepare(ctx, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("prepare image %s: %w: %w", spec.Image, runtime.ErrImage, err)
	}
	return newRevision(spec, b, rt.caps, rt.cfg.Watchdog)
}

// update switches to rev: directly when nothing is serving, else by a rolling
// update that keeps the old replicas until the new ones are ready.
func (f *function) update(rev *revision) {
	f.desired, f.message = rev.spec.Replicas, ""
	if f.roll != nil {
		// A newer revision replaces the one being rolled out; the stable
		// replicas keep serving until the newest one is ready.
		f.roll()
		f.roll = nil
		f.stopAsyncLocked(f.replicas)
		f.replicas = nil
	} else {
		f.stable, f.retiring, f.replicas = f.cur, f.replicas, nil
	}
	f.cur = rev
	if f.desired == 0 || !anyReady(f.retiring) {
		f.stopAsyncLocked(f.retiring)
		f.retiring, f.stable = nil, nil
		f.scaleLocked()
		return
	}
	f.scaleLocked()
	ctx, cancel := context.WithCancel(context.Background())
	f.roll = cancel
	go f.watchRoll(ctx, rev)
}

func anyReady(rs []*replica) bool {
	for _, r := range rs {
		if r.state == runtime.StateReady {
			return true
		}
	}
	return false
}

// scaleLocked starts or stops replicas of cur to match desired; the newest go first.
func (f *function) scaleLocked() {
	if f.cur == nil || f.removed {
		return
	}
	for len(f.replicas) < f.desired {
		f.replicas = append(f.replicas, f.startReplica(f.cur))
	}
	if len(f.replicas) > f.desired {
		extra := f.replicas[f.desired:]
		f.replicas = slices.Clip(f.replicas[:f.desired])
		f.stopAsyncLocked(extra)
	}
	f.poke()
}

// stopAsyncLocked stops rs in the background; they show as stopping until gone.
func (f *function) stopAsyncLocked(rs []*replica) {
	for _, r := range rs {
		f.stopping[r] = struct{}{}
		go func() {
			r.stop(context.Background())
			f.mu.Lock()
			delete(f.stopping, r)
			f.mu.Unlock()
		}()
	}
}

func (f *function) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// shutdown stops every replica; with remove it also deletes the logs.
func (f *function) shutdown(ctx context.Context, remove bool) {
	f.mu.Lock()
	f.removed = true
	if f.roll != nil {
		f.roll()
		f.roll = nil
	}
	all := append(append([]*replica{}, f.replicas...), f.retiring...)
	for r := range f.stopping {
		all = append(all, r)
	}
	f.replicas, f.retiring = nil, nil
	f.mu.Unlock()
	f.publish()
	var wg sync.WaitGroup
	for _, r := range all {
		wg.Go(func() { r.stop(ctx) })
	}
	wg.Wait()
	if remove {
		f.rt.mu.Lock()
		reused := f.rt.funcs[f.ref] != nil
		f.rt.mu.Unlock()
		remove = !reused
	}
	if err := f.logs.close(remove); err != nil {
		f.rt.log.Warn("remove logs failed", "function", f.ref.String(), "err", err)
	}
}
