package main

import (
	"maps"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/watch"
)

// watchSources says, from the task file alone, which files are sources of
// the goals and their deps (sources globs, build contexts as .dockerignore
// filters them, bind-mounted paths) and which paths to watch for them.
// Known from the task file, they are watched even when a dep fails before
// a target is planned.
func (p *project) watchSources(goals []string) (watch.Rules, []string) {
	names, err := p.file.Closure(goals)
	if err != nil {
		return nil, nil
	}
	var rules watch.Rules
	var roots []string
	for _, n := range names {
		t := p.file.Targets[n]
		dir := p.watchTargetDir(t)
		switch {
		case t.Sh != nil && len(t.Sources) > 0:
			g, err := watch.NewGlobs(t.Sources)
			if err != nil {
				continue
			}
			rules = append(rules, watch.Rule{Root: dir, Match: g.Match})
			for _, b := range g.Bases() {
				roots = append(roots, filepath.Join(dir, filepath.FromSlash(b)))
			}
		case t.Build != nil:
			r, rs := buildSources(dir, t.Build)
			rules, roots = append(rules, r...), append(roots, rs...)
		case t.Run != nil:
			for _, h := range hostPaths(dir, t.Run.Volumes) {
				rules = append(rules, watch.Rule{Root: h})
				roots = append(roots, h)
			}
		}
	}
	return rules, roots
}

// buildSources: the context's files that .dockerignore lets through, and
// the Dockerfile wherever it is.
func buildSources(dir string, b *taskfile.Build) (watch.Rules, []string) {
	ctx := watchAbs(dir, b.Context)
	if real, err := filepath.EvalSymlinks(ctx); err == nil {
		ctx = real
	}
	df := filepath.Join(ctx, "Dockerfile")
	if b.Dockerfile != "" {
		df = watchAbs(dir, b.Dockerfile)
	}
	if real, err := filepath.EvalSymlinks(df); err == nil {
		df = real
	}
	dfRel := ""
	if r, err := filepath.Rel(ctx, df); err == nil {
		dfRel = filepath.ToSlash(r)
	}
	match, err := watch.Dockerignore(ctx, dfRel)
	if err != nil {
		match = nil // a broken .dockerignore: let hashing decide
	}
	return watch.Rules{{Root: ctx, Match: match}, {Root: df}}, []string{ctx, df}
}

// hostPaths are the host sides of bind mounts, as the run action reads them.
func hostPaths(dir string, vols []string) []string {
	var out []string
	for _, v := range vols {
		src, _, ok := strings.Cut(v, ":")
		if !ok || src == "" {
			continue
		}
		if strings.HasPrefix(src, "/") || strings.HasPrefix(src, ".") || strings.Contains(src, "/") {
			out = append(out, watchAbs(dir, src))
		}
	}
	return out
}

func watchAbs(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func (p *project) watchTargetDir(t *taskfile.Target) string {
	if t.Dir == "" {
		return p.file.Dir
	}
	return watchAbs(p.file.Dir, t.Dir)
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
		for _, l := range res.Lines {
			if rel, ok := strings.CutPrefix(l.Label, "src "); ok {
				files[watchAbs(s.p.file.Dir, filepath.FromSlash(rel))] = l.Value
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
