package sources

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/dtask-dev/dtask/engine/cache"
)

// Root is a file or folder a target reads, and which files under it count.
type Root struct {
	// Path is absolute and clean: a folder, a file, or a path that does
	// not exist yet (a volume the engine will create).
	Path string
	// Globs are sources patterns relative to Path (an sh target's
	// sources); none means every file under Path.
	Globs []string
	// Exclude reports, for a slash path relative to Path, that a file is
	// not a source though it is under Path (.dockerignore); nil: none is.
	// Roots with Exclude are listed and hashed by the action that reads
	// them (a build sends exactly what it hashed).
	Exclude func(rel string) bool

	globs *compiled // Globs as a matcher and bases, compiled on first use
}

// compiled is a root's Globs as Has and Watch use them.
type compiled struct {
	once  sync.Once
	match func(rel string) bool // nil: the patterns did not compile
	bases []string              // where Globs can match, relative to Path
}

// compile compiles the root's Globs, once where the root was made by Of.
// Patterns that do not compile (checked at load, so never in a run) match
// everything under Path.
func (r Root) compile() *compiled {
	c := r.globs
	if c == nil {
		c = &compiled{}
	}
	c.once.Do(func() {
		m, err := cache.Matcher(r.Globs)
		b, berr := cache.Bases(r.Globs)
		if err != nil || berr != nil {
			m, b = nil, []string{"."}
		}
		c.match, c.bases = m, b
	})
	return c
}

// Set is everything one or more targets read.
type Set []Root

// Relevant reports whether the file at abs is, or would be if it existed,
// a source of the set: watch mode's event filter.
func (s Set) Relevant(abs string) bool {
	for _, r := range s {
		if r.Has(abs) {
			return true
		}
	}
	return false
}

// Has reports whether the file at abs is one of the root's sources.
func (r Root) Has(abs string) bool {
	rel, ok := Within(abs, r.Path)
	if !ok {
		return false
	}
	if r.Globs != nil {
		if m := r.compile().match; m != nil && !m(rel) {
			return false
		}
	}
	return r.Exclude == nil || rel == "." || !r.Exclude(rel)
}

// Watch returns the paths a watcher must follow for the set: every root,
// or for sources globs the folders they can match under.
func (s Set) Watch() []string {
	var out []string
	for _, r := range s {
		if r.Globs == nil {
			out = append(out, r.Path)
			continue
		}
		for _, b := range r.compile().bases {
			out = append(out, filepath.Join(r.Path, filepath.FromSlash(b)))
		}
	}
	return out
}

// Within returns abs relative to root (slash-separated, "." for root
// itself) if it is root or inside it.
func Within(abs, root string) (string, bool) {
	if abs == root {
		return ".", true
	}
	if root == "/" {
		return filepath.ToSlash(abs[1:]), true
	}
	if strings.HasPrefix(abs, root) && len(abs) > len(root) && abs[len(root)] == filepath.Separator {
		return filepath.ToSlash(abs[len(root)+1:]), true
	}
	return "", false
}
