package main

import (
	"maps"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/sources"
)

// watchSources says, from the task file alone, what the goals and their
// deps read, as the sources model says: known from the task file, they are
// watched even when a dep fails before a target is planned. A target whose
// sources cannot all be worked out (a bad .dockerignore) is watched as
// far as they can; its run reports the error.
func (p *project) watchSources(goals []string) sources.Set {
	set, _ := sources.Closure(p.file, goals, p.stateDir())
	return set
}

// watchIgnore leaves out .git and .dtask folders anywhere, and the state
// folder wherever cache_dir puts it.
func watchIgnore(state string) func(string) bool {
	return func(path string) bool {
		if path == state || strings.HasPrefix(path, state+string(filepath.Separator)) {
			return true
		}
		for _, part := range strings.Split(path, string(filepath.Separator)) {
			if part == ".git" || part == ".dtask" {
				return true
			}
		}
		return false
	}
}

// learn keeps, per target, the content hashes the run just planned it on,
// pass or fail, and gives the detector the baseline later events compare
// to: so undoing a breaking edit runs again, and a touch after a failure
// does not. Targets the run never planned keep what they had.
func (s *session) learn(results []*engine.Result) {
	for _, res := range results {
		if res.Key == "" {
			continue // never planned: keep what it had
		}
		files := map[string]string{}
		for _, l := range res.Lines() {
			if rel, ok := strings.CutPrefix(l.Label, "src "); ok {
				files[filepath.Join(s.p.file.Dir, filepath.FromSlash(rel))] = l.Value
			}
		}
		s.files[res.Target] = files
	}
	known := s.det.Snapshot()
	for _, res := range results {
		if res.Key != "" {
			maps.Copy(known, s.files[res.Target])
		}
	}
	s.det.Reset(known)
}
