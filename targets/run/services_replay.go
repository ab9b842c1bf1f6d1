package run

import (
	"context"
	"fmt"
	"slices"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// UseServices brings up t's services for one run of t. A service started
// fresh now has none of the state that t's deps listing it put there when
// they ran (a migrate target, up to date and so not run this time): those
// deps are run again first, in dependency order, their output in t's.
// A dep that ran in this run, or in watch mode's earlier runs, left its
// service running, so nothing is repeated then.
func UseServices(ctx context.Context, e *targets.Env, pool *ServicePool, t *taskfile.Target, x *engine.Exec) (string, error) {
	net, fresh, err := pool.up(ctx, t.Services, x, false)
	if err != nil || len(fresh) == 0 {
		return net, err
	}
	for _, dep := range preparers(e, t, fresh) {
		if x.Verbose && x.Stdout != nil {
			fmt.Fprintf(x.Stdout, "services %v started fresh: running %s again, which prepares them\n", fresh, dep.Name)
		}
		act, err := e.Action(dep, e.File)
		if err != nil {
			return net, err
		}
		dx := *x
		dx.Target, dx.Dir, dx.Shared = dep, e.File.TargetDir(dep), pool
		if _, err := act.Run(ctx, &dx); err != nil {
			return net, fmt.Errorf("preparing services again with %s: %w", dep.Name, err)
		}
	}
	return net, nil
}

// preparers are t's deps (transitively, deps first) that list one of
// services and share them (no fresh_services).
func preparers(e *targets.Env, t *taskfile.Target, services []string) []*taskfile.Target {
	names, err := e.File.Closure(t.Deps)
	if err != nil {
		return nil
	}
	var out []*taskfile.Target
	for _, n := range names {
		d := e.File.Targets[n]
		if d == nil || d.FreshServices || (d.ActionKind() != "run" && d.ActionKind() != "sh") {
			continue
		}
		if slices.ContainsFunc(d.Services, func(s string) bool { return slices.Contains(services, s) }) {
			out = append(out, d)
		}
	}
	return out
}
