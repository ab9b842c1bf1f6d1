package taskfile

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine/vars"
)

// ProjectRoot is the folder a task file may read from: the git work tree
// that holds it, or its own folder outside git. A monorepo's
// `context = ".."` stays inside the work tree.
func ProjectRoot(f *File) string { return RootOf(f.Dir) }

// RootOf is the project root of a task file in dir (see ProjectRoot).
func RootOf(dir string) string {
	if wt := vars.WorkTree(dir); wt != "" {
		return realPath(wt)
	}
	return realPath(dir)
}

// CheckPaths reports every build context, Dockerfile, sources pattern and
// dir of a resolved file that reaches outside root, unless the target says
// `outside = true`: a task file from a cloned repository must not make
// dtask read (or send to an engine) files elsewhere on the machine
// without saying so. Symbolic links are followed. Only the targets named
// are checked (those a run needs; nil: every target).
func CheckPaths(f *File, root string, names []string) error {
	c := &collector{file: f.name, pos: f.pos}
	if c.file == "" && f.Path != "" {
		c.file = displayPath(f.Path)
	}
	if names == nil {
		names = f.TargetNames()
	}
	pc := &pathChecker{c: c, root: root, in: map[string]bool{}}
	for _, name := range names {
		if t := f.Targets[name]; t != nil && !t.Outside {
			pc.target(f.Dir, name, t)
		}
	}
	if len(c.errs) == 0 {
		return nil
	}
	sortErrors(c.errs)
	return c.errs
}

// pathChecker checks the paths of one run's targets.
type pathChecker struct {
	c    *collector
	root string
	real realPaths
	in   map[string]bool // folders (as written) found inside the root
}

// target checks the paths of target name, whose task file is in dir.
// The keys an error is placed at are named only for an error: naming
// them cost more than the check.
func (pc *pathChecker) target(dir, name string, t *Target) {
	at := []string{"targets", name}
	base := dir
	if t.Dir != "" {
		base = joinPath(dir, t.Dir)
		if !pc.inside(base) {
			pc.outside(ancestors(append(at, "dir")), name, "dir", t.Dir)
		}
	}
	if t.Build != nil {
		pc.build(at, base, name, t.Build)
	}
	for i, src := range t.Sources {
		if strings.HasPrefix(src, "!") || pc.inside(joinPath(base, staticPrefix(src))) {
			continue // an exclusion reads nothing
		}
		key := append(at[:2:2], "sources")
		pc.outside(append([]string{indexKey(key, i)}, ancestors(key)...), name, "sources", src)
	}
}

// build checks a build's context, its Dockerfile and its .dockerignore.
func (pc *pathChecker) build(at []string, base, name string, b *Build) {
	ctx := joinPath(base, b.Context)
	ctxKeys := ancestors(append(at, "build", "context"))
	if !pc.inside(ctx) {
		pc.outside(ctxKeys, name, "build.context", b.Context)
		return
	}
	switch {
	case b.Dockerfile != "":
		if !pc.inside(joinPath(base, b.Dockerfile)) {
			pc.outside(ancestors(append(at, "build", "dockerfile")), name, "build.dockerfile", b.Dockerfile)
		}
	case !pc.inside(filepath.Join(ctx, "Dockerfile")):
		// The context's own Dockerfile may be a link out of it.
		pc.outside(ctxKeys, name, "Dockerfile", filepath.Join(b.Context, "Dockerfile"))
	}
	// -n reads .dockerignore too (to list the context): a link out of
	// the project would have it read a file elsewhere.
	if !pc.inside(filepath.Join(ctx, ".dockerignore")) {
		pc.outside(ctxKeys, name, ".dockerignore", filepath.Join(b.Context, ".dockerignore"))
	}
}

// inside says whether abs (clean) is inside the root once symbolic links
// are followed. A name that is no link, in a folder found inside, is
// inside: ten thousand sources in one folder are a look-up each, not a
// path resolved and compared.
func (pc *pathChecker) inside(abs string) bool {
	if parent := filepath.Dir(abs); parent != abs && !pc.real.isLink(parent, abs) {
		in, ok := pc.in[parent]
		if !ok {
			in = inside(pc.root, pc.real.get(parent))
			pc.in[parent] = in
		}
		if in {
			return true
		}
	}
	return inside(pc.root, pc.real.get(abs))
}

// outside adds the error for a path outside the root, placed at the
// first of keys written.
func (pc *pathChecker) outside(keys []string, target, what, value string) {
	pc.c.add(keys, "target %q: %s %q is outside the project (%s); add outside = true to the target to allow it",
		target, what, value, pc.root)
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

// realPaths memoises realPath for one check of many paths: ten thousand
// targets' sources in one folder cost one walk of its symbolic links, not
// ten thousand.
type realPaths struct {
	resolved map[string]string
	asked    map[string]int             // names looked up in each folder
	links    map[string]map[string]bool // a listed folder's symbolic links
}

// listAfter is how many names of one folder are checked one by one before
// the folder is listed once instead: a listing of ten thousand names is
// one read, where their checks were ten thousand lstat calls.
const listAfter = 8

// get is realPath(p), resolving each folder once.
func (m *realPaths) get(p string) string {
	p = filepath.Clean(p)
	if r, ok := m.resolved[p]; ok {
		return r
	}
	m.ready()
	parent := filepath.Dir(p)
	var r string
	if parent == p {
		r = realPath(p)
	} else {
		r = filepath.Join(m.get(parent), filepath.Base(p))
		// A symbolic link is resolved whole; a missing name (and what
		// follows it) is kept as written, as realPath does.
		if m.isLink(parent, p) {
			if e, err := filepath.EvalSymlinks(p); err == nil {
				r = e
			}
		}
	}
	m.resolved[p] = r
	return r
}

func (m *realPaths) ready() {
	if m.resolved == nil {
		m.resolved, m.asked, m.links = map[string]string{}, map[string]int{}, map[string]map[string]bool{}
	}
}

// isLink says whether p, a name in folder dir, is a symbolic link.
func (m *realPaths) isLink(dir, p string) bool {
	m.ready()
	if links, ok := m.links[dir]; ok {
		return links[filepath.Base(p)]
	}
	if m.asked[dir]++; m.asked[dir] > listAfter {
		if links, err := symlinksIn(dir); err == nil {
			m.links[dir] = links
			return links[filepath.Base(p)]
		}
		m.asked[dir] = -1 << 30 // not listable: one by one from now on
	}
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

// symlinksIn lists the symbolic links in folder dir, unsorted.
func symlinksIn(dir string) (map[string]bool, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	links := map[string]bool{}
	for _, e := range entries {
		if e.Type()&os.ModeSymlink != 0 {
			links[e.Name()] = true
		}
	}
	return links, nil
}

// Inside reports whether path (absolute) is inside root once symbolic
// links are followed; for the checks actions make as they plan.
func Inside(root, path string) bool { return inside(root, realPath(path)) }
