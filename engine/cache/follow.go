package cache

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// In watch mode the index follows a watcher: its events name every path
// that changes, so between events a file keeps the hash it had and a
// Glob the files it listed. A run after an edit then walks no folder and
// stats no file but those the events named; the first run, or one after
// the kernel dropped events, walks and stats as usual.

// following is what the index keeps between runs while it follows events.
type following struct {
	epoch uint64               // bumped by every Changed
	sums  map[string][16]byte  // abs → sum, hashed since an event last named it
	globs map[string]*memoGlob // globKey → files
}

// memoGlob is a Glob's result, kept up to date from events.
type memoGlob struct {
	dir string
	g   *globber // its patterns, to match new files
	out []string // sorted; never changed in place (callers keep it)
}

// Follow makes the index trust, until Changed names them, the hashes it
// gives and the files Globs list. Call it before the first Glob or Hash.
func (ix *Index) Follow() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.fol = &following{sums: map[string][16]byte{}, globs: map[string]*memoGlob{}}
}

// Changed forgets what a batch of events names (absolute paths; "" for
// events the kernel dropped, which forgets everything). Call it before
// the run the batch starts.
func (ix *Index) Changed(paths []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	f := ix.fol
	if f == nil {
		return
	}
	f.epoch++
	// Stats a walk took and no lookup used are as old as the walk.
	ix.pmu.Lock()
	ix.primes = nil
	ix.pmu.Unlock()
	for _, p := range paths {
		if p == "" {
			clear(f.sums)
			clear(f.globs)
			return
		}
		fi, err := os.Stat(p)
		file := err == nil && fi.Mode().IsRegular()
		delete(f.sums, p)
		if !file {
			// Removed, or a folder: files under it may be gone or new.
			for k := range f.sums {
				if strings.HasPrefix(k, p+string(filepath.Separator)) {
					delete(f.sums, k)
				}
			}
		}
		for k, m := range f.globs {
			if !m.update(p, file, err == nil && fi.IsDir()) {
				delete(f.globs, k)
			}
		}
	}
}

// update adds or removes the file at abs; false means the result can no
// longer be kept up to date (a folder appeared: its files are unknown).
func (m *memoGlob) update(abs string, file, dir bool) bool {
	rel, ok := strings.CutPrefix(abs, m.dir+string(filepath.Separator))
	if !ok {
		return true
	}
	rel = filepath.ToSlash(rel)
	if skippedFolder(rel) {
		return true
	}
	if dir {
		return false
	}
	i, found := slices.BinarySearch(m.out, rel)
	want := file && m.g.includedPath(rel) && !m.g.excludedPath(rel)
	switch {
	case want && !found:
		m.out = slices.Insert(slices.Clip(m.out), i, rel)
	case !want && found:
		m.out = slices.Concat(m.out[:i], m.out[i+1:])
	case !file:
		// A folder that is gone: the files under it (contiguous once sorted).
		from, _ := slices.BinarySearch(m.out, rel+"/")
		to := from
		for to < len(m.out) && strings.HasPrefix(m.out[to], rel+"/") {
			to++
		}
		if to > from {
			m.out = slices.Concat(m.out[:from], m.out[to:])
		}
	}
	return true
}

// skippedFolder says rel is in a folder walks never enter.
func skippedFolder(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == ".git" || part == ".dtask" {
			return true
		}
	}
	return false
}

func globKey(dir string, patterns []string) string {
	return dir + "\x00" + strings.Join(patterns, "\x00")
}

// recalled returns a Glob's kept result, and otherwise the epoch to
// remember a new one under.
func (ix *Index) recalled(dir string, patterns []string) (out []string, epoch uint64, ok bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.fol == nil {
		return nil, 0, false
	}
	if m := ix.fol.globs[globKey(dir, patterns)]; m != nil {
		return m.out, 0, true
	}
	return nil, ix.fol.epoch, false
}

// remember keeps a Glob's result, unless events came since it started.
func (ix *Index) remember(dir string, patterns []string, g *globber, epoch uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.fol != nil && ix.fol.epoch == epoch {
		match := &globber{incl: g.incl, excl: g.excl}
		ix.fol.globs[globKey(dir, patterns)] = &memoGlob{dir: filepath.Clean(dir), g: match, out: slices.Clip(g.out)}
	}
}

// trusted returns the hash of abs if no event named it since it was
// hashed. ix.mu is held.
func (ix *Index) trusted(abs string) ([16]byte, bool) {
	if ix.fol == nil {
		return [16]byte{}, false
	}
	sum, ok := ix.fol.sums[abs]
	return sum, ok
}

// trust keeps the hash of abs, taken at epoch, unless events came since.
// ix.mu is held.
func (ix *Index) trust(abs string, sum [16]byte, epoch uint64) {
	if ix.fol != nil && ix.fol.epoch == epoch {
		ix.fol.sums[strings.Clone(abs)] = sum
	}
}

// epochNow is the events' count so far. ix.mu is held.
func (ix *Index) epochNow() uint64 {
	if ix.fol == nil {
		return 0
	}
	return ix.fol.epoch
}
