package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// runTarget decides whether target i of s must run, runs it and records
// the result.
func (r *Runner) runTarget(ctx context.Context, s *schedule, i int32) {
	name := s.names[i]
	t := r.File.Targets[name]
	res := &Result{Target: name, Kind: t.ActionKind()}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		r.record(res)
	}()
	if st, why, blocked := r.blockedByDeps(t); blocked {
		res.Status, res.Reason = st, why
		return
	}
	if why, ok := r.when(t); !ok {
		res.Status, res.Reason = Skipped, why
		return
	}
	if kept, ok := r.reuse(ctx, t); ok {
		*res = *kept
		return
	}
	act, err := r.Actions(t, r.File)
	if err != nil {
		res.Status, res.Err, res.Reason = Failed, fmt.Errorf("target %s: %w", name, err), err.Error()
		return
	}
	plan, err := r.plan(ctx, t, act)
	if err != nil {
		res.Status, res.Err, res.Reason = Failed, fmt.Errorf("target %s: %w", name, err), err.Error()
		return
	}
	res.Key = plan.key.Sum()
	res.key = plan.key
	if rec, ok := r.upToDate(ctx, t, act, plan, res.Key); ok {
		res.Status, res.Reason, res.Outputs = Cached, upToDateReason(rec), rec.Outputs
		if r.Opts.DryRun {
			res.Reason += plan.unhashedNote()
		}
		return
	}
	res.Reason = r.why(name, plan)
	if r.Opts.DryRun {
		res.Status, res.Reason = WouldRun, res.Reason+plan.unhashedNote()
		return
	}
	r.runLocked(ctx, s, i, act, plan, res)
}

// runLocked runs target i of s, which must run, as the only process on
// the project that does.
func (r *Runner) runLocked(ctx context.Context, s *schedule, i int32, act Action, plan *Plan, res *Result) {
	t := r.File.Targets[s.names[i]]
	unlock, waited, err := r.lockTarget(ctx, t)
	if err != nil {
		res.Status, res.Err = Failed, fmt.Errorf("target %s: %w", t.Name, err)
		return
	}
	defer unlock()
	// Another dtask on this project may have run it while we waited,
	// fetching what it lacked: its record has those images' IDs.
	if waited {
		if plan.resolveFetched(ctx) {
			res.Key = plan.key.Sum()
		}
		if rec, ok := r.upToDate(ctx, t, act, plan, res.Key); ok {
			res.Status, res.Reason, res.Outputs = Cached, "up to date (another dtask just ran it)", rec.Outputs
			return
		}
	}
	if plan.always == "" {
		// It runs because its inputs changed: so do its dependents' keys.
		// (One that runs every time may leave them up to date.)
		s.prepareDependents(ctx, i)
	}
	r.execute(ctx, t, act, plan, res)
}

// lockTarget makes this process the only one on the project running t;
// waited says another process held it first.
func (r *Runner) lockTarget(ctx context.Context, t *taskfile.Target) (unlock func(), waited bool, err error) {
	if r.Store == nil {
		return func() {}, false, nil
	}
	unlock, err = r.Store.LockTarget(ctx, t.Name, func() {
		waited = true
		r.Reporter.Progress(t.Name, "waiting for another dtask running "+t.Name)
	})
	return unlock, waited, err
}

// blockedByDeps says whether a dep's outcome keeps the target from running.
func (r *Runner) blockedByDeps(t *taskfile.Target) (Status, string, bool) {
	for _, d := range t.Deps {
		dr := r.result(d)
		switch dr.Status {
		case Failed, NotRun:
			return NotRun, depError(d, dr.Status), true
		case Skipped:
			// What depends on a skipped target (a deploy after a skipped
			// publish) must not act on outputs that were never made.
			return Skipped, "dep " + d + " was skipped", true
		}
	}
	return 0, "", false
}

// when evaluates the target's conditions.
func (r *Runner) when(t *taskfile.Target) (string, bool) {
	return t.When.Allows(r.Branch, r.EnvName)
}

// plan builds the target's key: format version, kind, the env it receives,
// its deps' keys, then whatever the action adds.
func (r *Runner) plan(ctx context.Context, t *taskfile.Target, act Action) (*Plan, error) {
	set, err := sources.Of(r.File, t, r.StateDir)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Target:  t,
		File:    r.File,
		Dir:     r.File.TargetDir(t),
		key:     cache.NewKey(t.Name),
		index:   r.Index,
		sources: set,
	}
	p.key.Redact = r.Redact
	if r.Store != nil && r.Redact != nil {
		p.key.Secret = r.Store.SecretKey()
	}
	p.root, p.stateDir, p.written = r.Root, r.StateDir, r.Written
	p.key.Add("kind", act.Kind())
	if t.Dir != "" {
		p.key.Add("dir", t.Dir)
	}
	if er, ok := act.(EnvReceiver); ok && er.ReceivesEnv() {
		r.planEnv(p, t)
	}
	if len(t.Deps) > 0 {
		// Only targets with deps get a map: a large graph's leaves
		// allocated one each for nothing.
		p.Deps = make(map[string]Outputs, len(t.Deps))
	}
	for _, d := range t.Deps {
		dr := r.result(d)
		p.key.Add("dep "+d, dr.Key)
		p.Deps[d] = dr.Outputs
	}
	if err := act.Plan(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// upToDate reports whether a recorded success with this key exists and
// its outputs are still there.
func (r *Runner) upToDate(ctx context.Context, t *taskfile.Target, act Action, p *Plan, key string) (*Record, bool) {
	if r.Opts.NoCache || r.Opts.Force[t.Name] || p.always != "" || r.Store == nil {
		return nil, false
	}
	rec, ok := r.records().Hit(key)
	if !ok {
		return nil, false
	}
	ok, why, err := act.Check(ctx, rec)
	if err != nil || !ok {
		p.missing = why
		return nil, false
	}
	r.Store.Touch(key)
	return rec, true
}

// upToDateReason says where the matching record came from when it was
// not this machine's store.
func upToDateReason(rec *Record) string {
	if rec.From != "" {
		return "up to date (" + rec.From + ")"
	}
	return "up to date"
}

// why explains why the target runs, from its key lines against the last
// recorded success of the same target.
func (r *Runner) why(name string, p *Plan) string {
	switch {
	case r.Opts.Force[name]:
		return "forced"
	case r.Opts.NoCache:
		return "--no-cache"
	case p.always != "":
		return p.always
	case p.missing != "":
		return p.missing
	}
	reasons, ok := r.inMemoryWhy(name, p)
	if !ok {
		reasons, ok = r.records().Why(name, p.key)
	}
	if !ok {
		return "no previous run"
	}
	if len(reasons) == 0 {
		return "no record for this key"
	}
	if len(reasons) > 4 {
		reasons = append(reasons[:4], fmt.Sprintf("and %d more", len(reasons)-4))
	}
	return strings.Join(reasons, "; ")
}

// inMemoryWhy explains, from the key the previous run held in memory, why
// the target runs, when that key is the target's latest record.
func (r *Runner) inMemoryWhy(name string, p *Plan) ([]string, bool) {
	prev := r.Previous[name]
	if prev == nil || prev.key == nil || r.Records != nil || r.Store == nil {
		return nil, false
	}
	if last, ok := r.Store.LatestKey(name); !ok || last != prev.Key {
		return nil, false
	}
	return p.key.DiffFrom(prev.key), true
}

// planEnv adds the env a target's processes receive: [env], then its own.
func (r *Runner) planEnv(p *Plan, t *taskfile.Target) {
	for _, k := range slices.Sorted(maps.Keys(r.File.Env)) {
		if _, own := t.Env[k]; !own {
			p.key.Add("env."+k, r.File.Env[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Env)) {
		p.key.Add("env."+k, t.Env[k])
	}
}
