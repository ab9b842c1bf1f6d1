package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Globs matches slash paths relative to a target's folder against its
// sources patterns with cache.Glob's rules: `**` any depth, a pattern that
// names a folder takes everything under it, a leading `!` excludes.
type Globs struct{ incl, excl []string }

// NewGlobs parses sources patterns.
func NewGlobs(patterns []string) (*Globs, error) {
	g := &Globs{}
	for _, raw := range patterns {
		s, neg := strings.CutPrefix(raw, "!")
		s = path.Clean(filepath.ToSlash(s))
		if !doublestar.ValidatePattern(s) {
			return nil, fmt.Errorf("sources pattern %q: bad pattern", raw)
		}
		if neg {
			g.excl = append(g.excl, s)
		} else {
			g.incl = append(g.incl, s)
		}
	}
	return g, nil
}

// Bases returns the folder part of each include pattern before any
// wildcard: the only places a matching file can appear.
func (g *Globs) Bases() []string {
	out := make([]string, 0, len(g.incl))
	for _, p := range g.incl {
		base, _ := doublestar.SplitPattern(p)
		if !strings.ContainsAny(p, `*?[{\`) {
			base = p // an exact name: itself, or everything under it
		}
		out = append(out, base)
	}
	return out
}

// Match reports whether the file rel is a source.
func (g *Globs) Match(rel string) bool {
	return anyMatch(g.incl, rel) && !anyMatch(g.excl, rel)
}

// anyMatch reports whether rel or one of its parent folders matches a pattern.
func anyMatch(patterns []string, rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		for _, pat := range patterns {
			if ok, _ := doublestar.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}

// Dockerignore returns a matcher for the files a build context at dir sends:
// those .dockerignore does not exclude, and always .dockerignore itself and
// the Dockerfile (dockerfile is its slash path relative to dir).
func Dockerignore(dir, dockerfile string) (func(rel string) bool, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return func(string) bool { return true }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return func(rel string) bool {
		if rel == ".dockerignore" || rel == dockerfile {
			return true
		}
		excluded, err := pm.MatchesOrParentMatches(filepath.FromSlash(rel))
		return err != nil || !excluded
	}, nil
}
