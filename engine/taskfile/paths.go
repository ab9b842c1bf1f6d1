package taskfile

import (
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine/vars"
)

// ProjectRoot is the folder a task file may read from: the git work tree
// that holds it, or its own folder outside git. A monorepo's
// `context = ".."` stays inside the work tree.
func ProjectRoot(f *File) string {
	if wt := vars.WorkTree(f.Dir); wt != "" {
		return realPath(wt)
	}
	return realPath(f.Dir)
}

// CheckPaths reports every build context, Dockerfile, sources pattern and
// dir of a resolved file that reaches outside root, unless the target says
// `outside = true`: a task file from a cloned repository must not make
// dtask read (or send to an engine) files elsewhere on the machine
// without saying so. Symbolic links are followed. Only the targets named
// are checked (those a run needs; nil: every target).
func CheckPaths(f *File, root string, names []string) error {
	c := &collector{file: f.name, pos: f.Pos}
	if c.file == "" && f.Path != "" {
		c.file = displayPath(f.Path)
	}
	if names == nil {
		names = f.TargetNames()
	}
	for _, name := range names {
		t := f.Targets[name]
		if t == nil || t.Outside {
			continue
		}
		at := []string{"targets", name}
		base := f.Dir
		if t.Dir != "" {
			base = joinPath(f.Dir, t.Dir)
			checkPath(c, root, base, name, "dir", t.Dir, ancestors(append(at, "dir")))
		}
		if b := t.Build; b != nil {
			checkPath(c, root, joinPath(base, b.Context), name, "build.context", b.Context, ancestors(append(at, "build", "context")))
			if b.Dockerfile != "" {
				checkPath(c, root, joinPath(base, b.Dockerfile), name, "build.dockerfile", b.Dockerfile, ancestors(append(at, "build", "dockerfile")))
			}
		}
		for i, src := range t.Sources {
			if strings.HasPrefix(src, "!") {
				continue // an exclusion reads nothing
			}
			key := append(at[:2:2], "sources")
			checkPath(c, root, joinPath(base, staticPrefix(src)), name, "sources", src,
				append([]string{indexKey(key, i)}, ancestors(key)...))
		}
	}
	if len(c.errs) == 0 {
		return nil
	}
	sortErrors(c.errs)
	return c.errs
}

// checkPath adds an error placed at the first of keys written when abs
// is outside root.
func checkPath(c *collector, root, abs, target, what, value string, keys []string) {
	if inside(root, realPath(abs)) {
		return
	}
	c.add(keys, "target %q: %s %q is outside the project (%s); add outside = true to the target to allow it",
		target, what, value, root)
}

func joinPath(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// staticPrefix is the part of a sources pattern before its first
// wildcard: the folder a walk of it starts in.
func staticPrefix(pattern string) string {
	i := strings.IndexAny(pattern, "*?[{\\")
	if i < 0 {
		return pattern
	}
	return filepath.Dir(pattern[:i] + "x")
}

// inside says whether path is root or under it.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// realPath resolves the symbolic links of the longest part of p that
// exists; the rest is kept as written.
func realPath(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// Inside reports whether path (absolute) is inside root once symbolic
// links are followed; for the checks actions make as they plan.
func Inside(root, path string) bool { return inside(root, realPath(path)) }
