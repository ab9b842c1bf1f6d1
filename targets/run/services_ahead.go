package run

import (
	"context"
	"slices"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// Prestart starts names in the background, ahead of the target that lists
// them, while its deps still run: a database that takes seconds to get
// ready does so beside the image build, as a CI script that starts it
// first would have it. The target's Up then waits for that start (the
// pool's lock) and takes the services it made as started fresh for it
// (see UseServices). A failed start is forgotten here: that Up starts the
// service again and reports the error. Services built by a target, or
// whose image a build target tags, are left to Up: their image is not
// known before the build. So are those that depend on one; the others
// still start ahead (a compose file's database beside its built cache).
func (p *ServicePool) Prestart(ctx context.Context, names []string, x *engine.Exec) {
	names = startableAhead(p.e.File, withDependencies(p.e.File.Services, names))
	if len(names) == 0 {
		return
	}
	// Not p.mu: a start in progress holds it until its services are
	// ready, and a second dep of the target starting meanwhile must not
	// wait for that. A service already running is found so by up.
	p.aheadMu.Lock()
	defer p.aheadMu.Unlock()
	if p.closed {
		return
	}
	todo := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return p.starting[n] })
	if len(todo) == 0 {
		return
	}
	for _, n := range todo {
		p.starting[n] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	p.cancels = append(p.cancels, cancel)
	p.ahead.Add(1)
	go func() {
		defer p.ahead.Done()
		defer cancel()
		_, _, _ = p.up(ctx, todo, &engine.Exec{Target: x.Target, Shared: x.Shared}, true)
	}()
}

// claim returns those of names that Prestart started and no target has
// used yet, and marks them used.
func (p *ServicePool) claim(names []string) []string {
	var out []string
	for _, n := range names {
		if p.unclaimed[n] && p.running[n] != nil {
			out = append(out, n)
		}
		delete(p.unclaimed, n)
	}
	return out
}

// stopAhead stops the starts Prestart has in progress, waits for them
// and refuses new ones: the pool is closing.
func (p *ServicePool) stopAhead() {
	p.aheadMu.Lock()
	p.closed = true
	cancels := p.cancels
	p.cancels = nil
	p.aheadMu.Unlock()
	for _, c := range cancels {
		c()
	}
	p.ahead.Wait()
}

// startableAhead keeps those of names whose service, and every service it
// depends on, starts from an image that no build target of f makes.
func startableAhead(f *taskfile.File, names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool {
		return slices.ContainsFunc(withDependencies(f.Services, []string{n}), func(d string) bool { return !knownImage(f, d) })
	})
}

// knownImage says whether service n starts from an image that no build
// target of f makes.
func knownImage(f *taskfile.File, n string) bool {
	svc := f.Services[n]
	if svc == nil || svc.Build != "" {
		return false
	}
	for _, t := range f.Targets {
		if t.Build != nil && slices.Contains(t.Build.Tags, svc.Image) {
			return false
		}
	}
	return true
}

// PrestartServices starts t's services ahead of it in the run's shared
// pool (see ServicePool.Prestart); a target with services of its own
// (fresh_services) or no shared pool starts them when it runs.
func PrestartServices(ctx context.Context, e *targets.Env, t *taskfile.Target, x *engine.Exec) {
	pool, ok := x.Shared.(*ServicePool)
	if !ok || pool == nil || pool.e != e || t.FreshServices || len(t.Services) == 0 {
		return
	}
	pool.Prestart(ctx, t.Services, x)
}
