package engine

import (
	"context"
	"os"

	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// In watch mode a run follows the previous one and the events name every
// file that changed since (Runner.Changed). A target none of those files
// feeds, whose deps kept their keys, has the key it had: it is not planned
// again (no Glob, no hash, no key built), only checked against its record.
// Only host commands with sources and groups, without services, qualify:
// their keys hold nothing but files, definitions and deps' keys, where a
// run or build target's, or a service's, also hold image IDs that change
// with no file event.

// reuse returns the target's previous result as cached when it qualifies.
func (r *Runner) reuse(ctx context.Context, t *taskfile.Target) (*Result, bool) {
	prev := r.Previous[t.Name]
	if prev == nil || prev.key == nil || r.Changed == nil || r.Opts.Force[t.Name] || r.Opts.NoCache || r.Opts.DryRun || r.Store == nil {
		return nil, false
	}
	switch kind := t.ActionKind(); {
	case len(t.Services) > 0: // their image IDs are in the key
		return nil, false
	case kind == "sh" && len(t.Sources) > 0, kind == "group":
	default:
		return nil, false
	}
	for _, d := range t.Deps {
		if was, ok := prev.key.Value("dep " + d); !ok || was != r.result(d).Key {
			return nil, false
		}
	}
	if r.fedBy(t, r.Changed) {
		return nil, false
	}
	rec, ok := r.records().Hit(prev.Key)
	if !ok {
		return nil, false
	}
	act, err := r.Actions(t, r.File)
	if err != nil {
		return nil, false
	}
	if ok, _, err := act.Check(ctx, rec); err != nil || !ok {
		return nil, false
	}
	r.Store.Touch(prev.Key)
	return &Result{Target: t.Name, Kind: prev.Kind, Status: Cached, Reason: upToDateReason(rec),
		Key: prev.Key, Outputs: rec.Outputs, key: prev.key}, true
}

// fedBy says whether any changed path may be a source of t: one of its
// sources, or a path that is no regular file now (a folder, or gone),
// whose files are unknown.
func (r *Runner) fedBy(t *taskfile.Target, changed []string) bool {
	set, err := sources.Of(r.File, t, r.StateDir)
	if err != nil {
		return true
	}
	for _, c := range changed {
		if fi, err := os.Stat(c); err != nil || !fi.Mode().IsRegular() || set.Relevant(c) {
			return true
		}
	}
	return false
}
