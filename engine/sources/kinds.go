package sources

import (
	"errors"
	"fmt"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// sourcer lists what one kind of target reads. stateDir is dtask's state
// folder, never a source.
type sourcer func(f *taskfile.File, t *taskfile.Target, stateDir string) (Set, error)

// sourcerOf picks the sourcer of a kind of target. Push and deploy read
// images, not files; a group reads nothing.
func sourcerOf(kind string) sourcer {
	switch kind {
	case "sh":
		return shSources
	case "build":
		return buildSources
	case "run":
		return runSources
	}
	return func(*taskfile.File, *taskfile.Target, string) (Set, error) { return nil, nil }
}

// Of returns the files and folders target t of f reads. On an error (a bad
// pattern, an unreadable .dockerignore) it still returns what it could
// work out, so that watch mode follows it and the run reports the error.
func Of(f *taskfile.File, t *taskfile.Target, stateDir string) (Set, error) {
	s, err := sourcerOf(t.ActionKind())(f, t, stateDir)
	if err != nil {
		return s, fmt.Errorf("sources of %s: %w", t.Name, err)
	}
	return s, nil
}

// Closure returns what the goals and all their deps read, for watch mode.
func Closure(f *taskfile.File, goals []string, stateDir string) (Set, error) {
	names, err := f.Closure(goals)
	if err != nil {
		return nil, err
	}
	var all Set
	var errs []error
	for _, n := range names {
		s, err := Of(f, f.Targets[n], stateDir)
		all = append(all, s...)
		errs = append(errs, err)
	}
	return all, errors.Join(errs...)
}

// shSources: the sources globs, relative to the target's folder. Without
// sources an sh target reads nothing dtask can know (it always runs).
func shSources(f *taskfile.File, t *taskfile.Target, _ string) (Set, error) {
	if len(t.Sources) == 0 {
		return nil, nil
	}
	// The matcher and bases are compiled on first use (watch mode's Has
	// and Watch): planning reads only Globs, and compiling them for each
	// of ten thousand targets cost more than its glob. The patterns were
	// checked when the task file loaded; a glob reports a bad one.
	return Set{{Path: f.TargetDir(t), Globs: t.Sources, globs: &compiled{}}}, nil
}
