package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// execute runs the action and records a success.
func (r *Runner) execute(ctx context.Context, t *taskfile.Target, act Action, p *Plan, res *Result) {
	r.Reporter.Start(t.Name, res.Reason)
	if t.Timeout.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout.Duration)
		defer cancel()
	}
	stdout, stderr := r.Reporter.Output(t.Name)
	tail := &logTail{}
	stdout, stderr = io.MultiWriter(stdout, tail), io.MultiWriter(stderr, tail)
	x := &Exec{
		Target:   t,
		Dir:      p.Dir,
		Env:      r.hostEnv(t),
		Stdout:   stdout,
		Stderr:   stderr,
		Progress: func(msg string) { r.Reporter.Progress(t.Name, msg) },
		Deps:     p.Deps,
		Verbose:  r.Opts.Verbose,
		Shared:   r.Shared,
	}
	start := time.Now()
	out, err := act.Run(ctx, x)
	if err != nil {
		// What a failed action produced (a test report) is shown, never recorded.
		res.Status, res.Err, res.Outputs = Failed, fmt.Errorf("target %s: %w", t.Name, err), out
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded) && t.Timeout.Duration > 0:
			res.Err = fmt.Errorf("target %s: timed out after %s", t.Name, t.Timeout.Duration)
		case ctx.Err() != nil && err.Error() == ctx.Err().Error():
			res.Err = fmt.Errorf("target %s: interrupted", t.Name)
		case ctx.Err() != nil: // what the action did about it (a rollback) matters
			res.Err = fmt.Errorf("target %s: interrupted: %w", t.Name, err)
		}
		return
	}
	res.Status, res.Outputs = Ran, out
	if p.resolveFetched(ctx) {
		// Dependents are planned after this, on the key the next run computes.
		res.Key = p.key.Sum()
	}
	if r.Store == nil || p.always != "" {
		return
	}
	rec := &cache.Record{
		Target: t.Name, Kind: act.Kind(), Key: res.Key, Time: start,
		Duration: time.Since(start), Source: p.key, Outputs: out,
		Log: tail.masked(r.Redact),
	}
	if err := r.records().Put(rec); err != nil {
		// The target succeeded; a lost record only costs a re-run later.
		fmt.Fprintf(stderr, "warning: recording success: %v\n", err)
	}
}

// hostEnv is the environment of host commands: the process environment,
// then [env], then the target's env.
func (r *Runner) hostEnv(t *taskfile.Target) []string {
	env := append([]string(nil), r.HostEnv...)
	if env == nil {
		env = os.Environ()
	}
	add := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+m[k])
		}
	}
	add(r.File.Env)
	add(t.Env)
	return env
}
