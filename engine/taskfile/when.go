package taskfile

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Allows says whether a target with these conditions runs on branch in
// environment env (""; none chosen), and if not, why. A nil When allows
// everything.
func (w *When) Allows(branch, env string) (string, bool) {
	if w == nil {
		return "", true
	}
	if len(w.Branch) > 0 && !matchAny(w.Branch, branch) {
		return fmt.Sprintf("branch %q is not one of %s", branch, strings.Join(w.Branch, ", ")), false
	}
	if len(w.Env) > 0 && !slices.Contains(w.Env, env) {
		if env == "" {
			env = "(none)"
		}
		return fmt.Sprintf("environment %s is not one of %s", env, strings.Join(w.Env, ", ")), false
	}
	return "", true
}

func matchAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok || g == s {
			return true
		}
	}
	return false
}

// WillSkip lists those of the targets named that a run on branch in env
// skips: a when condition excludes them or one of their deps.
func (f *File) WillSkip(names []string, branch, env string) map[string]bool {
	skip, seen := map[string]bool{}, map[string]bool{}
	var visit func(string) bool
	visit = func(name string) bool {
		if seen[name] {
			return skip[name]
		}
		seen[name] = true
		t := f.Targets[name]
		if t == nil {
			return false
		}
		_, ok := t.When.Allows(branch, env)
		for _, d := range t.Deps {
			if visit(d) {
				ok = false
			}
		}
		if !ok {
			skip[name] = true
		}
		return !ok
	}
	for _, n := range names {
		visit(n)
	}
	return skip
}
