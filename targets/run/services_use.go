package run

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// ServicesFor returns the pool a target's services run in: the run's
// shared pool (plain runs and watch mode both pass one), or one of the
// target's own when it asks for fresh services or none was passed;
// release closes such an own pool.
func ServicesFor(ctx context.Context, e *targets.Env, t *taskfile.Target, x *engine.Exec) (*ServicePool, func()) {
	if pool, ok := x.Shared.(*ServicePool); ok && pool != nil && pool.e == e && !t.FreshServices {
		return pool, func() {}
	}
	pool := NewServicePool(e)
	return pool, func() {
		cctx, cancel := targets.Detached(ctx)
		defer cancel()
		_ = pool.Close(cctx)
	}
}

// svcLog is where a pool says what it does for one target: the live
// status line, and with -v one line per step in the target's output.
type svcLog struct {
	progress func(string)
	mu       sync.Mutex
	w        io.Writer // nil without -v
}

func newSvcLog(x *engine.Exec) *svcLog {
	l := &svcLog{progress: x.Progress}
	if l.progress == nil {
		l.progress = func(string) {}
	}
	if x.Verbose && x.Stdout != nil {
		l.w = x.Stdout
	}
	return l
}

// step shows msg as the status, or with -v as a line of output (a plain
// display would print the status line too).
func (l *svcLog) step(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.w == nil {
		l.progress(msg)
		return
	}
	l.say("%s", msg)
}

// say prints a line with -v only.
func (l *svcLog) say(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// onLoopback says whether a service's ports are published on loopback:
// when an sh target lists it, as host commands reach it only that way.
func onLoopback(e *targets.Env, service string) bool {
	for _, t := range e.File.Targets {
		if t.ActionKind() == "sh" && slices.Contains(t.Services, service) {
			return true
		}
	}
	return false
}

// withDependencies returns names with the services they depend on
// (compose depends_on), each once, dependencies first.
func withDependencies(all map[string]*taskfile.Service, names []string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if svc := all[n]; svc != nil {
			for _, d := range svc.DependsOn {
				visit(d)
			}
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n)
	}
	return out
}

// levels groups jobs so that each starts after the services it depends
// on: level 0 depends on nothing being started now.
func levels(jobs []svcJob) [][]svcJob {
	depth := map[string]int{}
	var out [][]svcJob
	for _, j := range jobs { // dependencies come first (withDependencies)
		d := 0
		for _, dep := range j.svc.DependsOn {
			if dd, ok := depth[dep]; ok {
				d = max(d, dd+1)
			}
		}
		depth[j.svc.Name] = d
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], j)
	}
	return out
}
