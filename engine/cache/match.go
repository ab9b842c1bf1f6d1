package cache

import "path"

// Matcher returns whether a file (a slash path relative to the patterns'
// folder) is one Glob would list for these patterns: watch mode asks it
// about files that changed, or did not exist when Glob ran.
func Matcher(patterns []string) (func(rel string) bool, error) {
	g := &globber{}
	for _, raw := range patterns {
		p, err := parsePattern(raw)
		if err != nil {
			return nil, err
		}
		if p.neg {
			g.excl = append(g.excl, p)
		} else {
			g.incl = append(g.incl, p)
		}
	}
	return func(rel string) bool {
		return g.includedPath(rel) && !g.excludedPath(rel)
	}, nil
}

// includedPath reports whether rel, or a folder above it that a pattern
// names (which takes everything under it), is included.
func (g *globber) includedPath(rel string) bool {
	for p := rel; p != "." && p != ".." && p != "/" && p != ""; p = path.Dir(p) {
		if g.included(p) {
			return true
		}
	}
	return false
}

// Bases returns the folders (or files) under which patterns can match,
// relative to their folder: where to watch for them.
func Bases(patterns []string) ([]string, error) {
	var incl []*pattern
	for _, raw := range patterns {
		p, err := parsePattern(raw)
		if err != nil {
			return nil, err
		}
		if !p.neg {
			incl = append(incl, p)
		}
	}
	var out []string
	for _, r := range walkRoots(incl) {
		out = append(out, r.base)
	}
	return out, nil
}
