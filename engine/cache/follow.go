package cache

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
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

// memoGlob is a Glob's result, kept up to date from events, and what
// HashFiles gave for that very list: an edit marks its file stale, so the
// next HashFiles of the list looks that file up alone, not every file.
type memoGlob struct {
	dir   string
	g     *globber // its patterns, to match new files
	out   []string // sorted; never changed in place (callers keep it)
	sums  []byte   // 16 bytes per file of out; nil: not hashed as one list
	stale map[int]bool
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
	case want && found:
		if m.sums != nil {
			m.stale[i] = true // edited: the one file to look up again
		}
	case want && !found:
		m.out = slices.Insert(slices.Clip(m.out), i, rel)
		m.sums = nil // a new list: hashed whole once
	case !want && found:
		m.out = slices.Concat(m.out[:i], m.out[i+1:])
		m.sums = nil
	case !file:
		// A folder that is gone: the files under it (contiguous once sorted).
		from, _ := slices.BinarySearch(m.out, rel+"/")
		to := from
		for to < len(m.out) && strings.HasPrefix(m.out[to], rel+"/") {
			to++
		}
		if to > from {
			m.out = slices.Concat(m.out[:from], m.out[to:])
			m.sums = nil
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

// keptList returns the Glob result that rels is (the very slice, which
// is never changed in place), or nil. ix.mu is held.
func (ix *Index) keptList(root string, rels []string) *memoGlob {
	if ix.fol == nil || len(rels) == 0 {
		return nil
	}
	root = filepath.Clean(root)
	for _, m := range ix.fol.globs {
		if m.dir == root && len(m.out) == len(rels) && unsafe.SliceData(m.out) == unsafe.SliceData(rels) {
			return m
		}
	}
	return nil
}

// hashKept answers HashFiles for a list a Glob kept and HashFiles hashed
// before: the kept sums, with the files events named since looked up
// again. ok is false when the list has no kept sums.
func (ix *Index) hashKept(root string, rels []string) (sums []byte, ok bool, err error) {
	ix.mu.Lock()
	m := ix.keptList(root, rels)
	if m == nil || m.sums == nil {
		ix.mu.Unlock()
		return nil, false, nil
	}
	sums, epoch := slices.Clone(m.sums), ix.fol.epoch
	stale := slices.Sorted(maps.Keys(m.stale))
	ix.mu.Unlock()
	if len(stale) == 0 {
		return sums, true, nil
	}
	fresh, err := ix.hashMany(len(stale), func(buf []byte, i int) []byte {
		return appendPath(buf, root, rels[stale[i]])
	})
	if err != nil {
		return nil, true, err
	}
	for j, i := range stale {
		copy(sums[16*i:16*i+16], fresh[16*j:])
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	// Events since the look-up may have named these files again: then
	// they stay stale.
	if ix.fol != nil && ix.fol.epoch == epoch && m.sums != nil {
		m.sums = sums
		clear(m.stale)
		sums = slices.Clone(sums)
	}
	return sums, true, nil
}

// keepSums keeps what HashFiles gave for a Glob's kept list, unless
// events came since it started (epoch).
func (ix *Index) keepSums(root string, rels []string, sums []byte, epoch uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if m := ix.keptList(root, rels); m != nil && ix.fol.epoch == epoch {
		m.sums, m.stale = slices.Clone(sums), map[int]bool{}
	}
}

// appendPath appends root/rel (rel slash-separated) to buf.
func appendPath(buf []byte, root, rel string) []byte {
	buf = append(append(buf, root...), filepath.Separator)
	return append(buf, filepath.FromSlash(rel)...)
}
