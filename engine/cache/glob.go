package cache

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/sys/unix"
)

// Glob expands source patterns relative to dir and returns the sorted,
// slash-separated relative paths of the files they match. `**` matches any
// depth; a pattern that names a folder means every file under it; a
// leading `!` excludes. Dotfiles match like any other file; .git and .dtask
// folders are never entered and symbolic links to folders never followed.
// Each folder is read once however many patterns there are.
func Glob(dir string, patterns []string) ([]string, error) {
	g := newGlobber(dir)
	if err := g.glob(patterns); err != nil {
		return nil, err
	}
	return g.out, nil
}

func newGlobber(dir string) *globber { return &globber{dir: dir, start: time.Now()} }

func (g *globber) glob(patterns []string) error {
	for _, raw := range patterns {
		p, err := parsePattern(raw)
		if err != nil {
			return err
		}
		if p.neg {
			g.excl = append(g.excl, p)
		} else {
			g.incl = append(g.incl, p)
		}
	}
	for _, r := range walkRoots(g.incl) {
		if err := g.root(r); err != nil {
			return err
		}
	}
	if !slices.IsSorted(g.out) {
		slices.Sort(g.out)
		g.stats = statRuns{}
	}
	if out := slices.Compact(g.out); len(out) != len(g.out) {
		g.out, g.stats = out, statRuns{}
	}
	return nil
}

func isAbs(p string) bool       { return filepath.IsAbs(p) }
func cleanPath(p string) string { return filepath.Clean(p) }

type matchKind int

const (
	matchAny    matchKind = iota // everything under base
	matchSuffix                  // base/**/*SUFFIX
	matchGlob                    // anything else: doublestar
	matchExact                   // no wildcard: the path itself (and under it, if a folder)
)

type pattern struct {
	raw    string // as written, for errors
	glob   string // cleaned, without the '!'
	neg    bool
	base   string // the folder part before any wildcard, "." for none
	kind   matchKind
	suffix string
}

// CheckPattern reports whether raw is a valid sources pattern, so that a
// bad one is a load-time error rather than a failure mid-run.
func CheckPattern(raw string) error {
	_, err := parsePattern(raw)
	return err
}

func parsePattern(raw string) (*pattern, error) {
	p := &pattern{raw: raw}
	s := raw
	if strings.HasPrefix(s, "!") {
		p.neg = true
		s = s[1:]
	}
	s = filepath.ToSlash(s)
	if s == "" {
		return nil, fmt.Errorf("sources pattern %q: empty", raw)
	}
	if path.IsAbs(s) || filepath.IsAbs(s) {
		return nil, fmt.Errorf("sources pattern %q: must be relative to the target's folder", raw)
	}
	s = path.Clean(s)
	if !doublestar.ValidatePattern(s) {
		return nil, fmt.Errorf("sources pattern %q: bad pattern", raw)
	}
	p.glob = s
	if !hasMeta(s) {
		p.kind, p.base = matchExact, s
		return p, nil
	}
	p.base, _ = doublestar.SplitPattern(s)
	rest := s
	if p.base != "." {
		rest = s[len(p.base)+1:]
	}
	switch {
	case rest == "**" || rest == "**/*":
		p.kind = matchAny
	case strings.HasPrefix(rest, "**/*") && !hasMeta(rest[4:]) && !strings.Contains(rest[4:], "/"):
		p.kind, p.suffix = matchSuffix, rest[4:]
	default:
		p.kind = matchGlob
	}
	return p, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[{\`) }

// under reports whether rel is base or inside it.
func under(rel, base string) bool {
	if base == "." {
		return rel != ".." && !strings.HasPrefix(rel, "../")
	}
	return rel == base || strings.HasPrefix(rel, base) && len(rel) > len(base) && rel[len(base)] == '/'
}

// match reports whether the file or folder rel matches the pattern itself
// (not counting the folder rule, which the walk applies).
func (p *pattern) match(rel string) bool {
	switch p.kind {
	case matchExact:
		return rel == p.glob
	case matchAny:
		return under(rel, p.base) && rel != p.base
	case matchSuffix:
		return under(rel, p.base) && rel != p.base && strings.HasSuffix(rel[strings.LastIndexByte(rel, '/')+1:], p.suffix)
	}
	return doublestar.MatchUnvalidated(p.glob, rel)
}

// walkRoots returns the folders (or files) to walk: each include's base,
// dropping those inside another.
func walkRoots(incl []*pattern) []*pattern {
	roots := slices.Clone(incl)
	slices.SortFunc(roots, func(a, b *pattern) int { return strings.Compare(a.base, b.base) })
	var out []*pattern
	for _, r := range roots {
		if len(out) > 0 && under(r.base, out[len(out)-1].base) {
			continue
		}
		out = append(out, r)
	}
	return out
}

type globber struct {
	dir        string
	incl, excl []*pattern
	out        []string
	stats      statRuns  // beside out: what the walk left for hashing
	start      time.Time // before the walk took any stat
	// verify, if set, marks which of a folder's files an index holds
	// with the stat just taken (Index.verify).
	verify func(c *blockCursor, dir string, rels []string, sts []primedStat, verified []bool, buf *[]byte) bool
}

func (g *globber) excluded(rel string) bool {
	for _, p := range g.excl {
		if p.match(rel) {
			return true
		}
	}
	return false
}

func (g *globber) included(rel string) bool {
	for _, p := range g.incl {
		if p.match(rel) {
			return true
		}
	}
	return false
}

// root walks one root: a file, a folder, or nothing yet.
func (g *globber) root(r *pattern) error {
	rel := r.base
	abs := g.dir
	if rel != "." {
		abs = filepath.Join(g.dir, filepath.FromSlash(rel))
	}
	var st unix.Stat_t
	err := unix.Stat(abs, &st)
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return fmt.Errorf("sources pattern %q: %w", r.raw, &os.PathError{Op: "stat", Path: abs, Err: err})
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		// Only an exact pattern can name a file as its base. Its stat is
		// the one hashing it would take (both follow links): handing it on
		// saves a second one per target that names its sources file by file.
		if g.included(rel) && !g.excludedPath(rel) {
			g.out = append(g.out, rel)
			g.stats.add(len(g.out)-1, primedRun{verified: []bool{false}, stats: []primedStat{{st: statOf(&st)}}})
		}
		return nil
	}
	if g.excludedPath(rel) {
		return nil
	}
	// An exact pattern naming a folder takes everything under it.
	return g.walk(r, rel, r.kind == matchExact || rel != "." && g.included(rel))
}

// excludedPath reports whether rel or a folder above it is excluded.
func (g *globber) excludedPath(rel string) bool {
	for p := rel; p != "." && p != ".." && p != "/"; p = path.Dir(p) {
		if g.excluded(p) {
			return true
		}
	}
	return false
}

type fileType uint8

const (
	typeUnknown fileType = iota
	typeFile
	typeDir
	typeLink
	typeOther
)

// statType resolves what readDir could not tell. Links to folders count as
// other: following them could loop.
func statType(abs string, link bool) fileType {
	var fi os.FileInfo
	var err error
	if link {
		fi, err = os.Stat(abs)
	} else {
		fi, err = os.Lstat(abs)
	}
	switch {
	case err != nil:
		return typeOther
	case fi.Mode().IsRegular():
		return typeFile
	case fi.IsDir() && !link:
		return typeDir
	}
	return typeOther
}
