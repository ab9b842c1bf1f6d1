package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The walk reads folders on a worker per CPU. Each matched file is
// stat'ed relative to its open folder (cheaper than a stat by full path),
// and the stat is handed to the Index through prime, so that the Hash
// calls that follow a Glob cost a lookup, not a system call.

// dirNode is one folder of the walk: its matched files in path order,
// what the walk left for hashing them, and its subfolders, each with how
// many of the files sort before it. Keeping files and subfolders apart
// (rather than one item per entry) lets the flat list share what the
// walk left instead of copying it.
type dirNode struct {
	rel    string
	all    bool // a folder above matched an include: every file is in
	nfiles int
	// packed is its files' paths, each ended by a NUL, in one string: the
	// list the walk returns cuts its strings from it, where a list per
	// folder would be a second copy of every string's header.
	packed string
	run    primedRun // beside the files
	subs   []subNode
}

type subNode struct {
	at  int // files before it
	dir *dirNode
}

type walker struct {
	g    *globber
	r    *pattern
	mu   sync.Mutex
	cond sync.Cond
	todo []*dirNode
	busy int // folders queued or being read
	err  error
}

// walk collects the files under the folder rel into g.out, in path order.
func (g *globber) walk(r *pattern, rel string, all bool) error {
	top := &dirNode{rel: rel, all: all}
	w := &walker{g: g, r: r, todo: []*dirNode{top}, busy: 1}
	w.cond.L = &w.mu
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(w.work)
	}
	wg.Wait()
	if w.err != nil {
		return w.err
	}
	g.out = slices.Grow(g.out, top.count())
	g.emit(top)
	return nil
}

// count is the number of files under n.
func (n *dirNode) count() int {
	c := n.nfiles
	for _, s := range n.subs {
		c += s.dir.count()
	}
	return c
}

func (g *globber) emit(n *dirNode) {
	rest, from := n.packed, 0
	for _, s := range n.subs {
		rest = g.emitFiles(n, rest, from, s.at)
		g.emit(s.dir)
		from = s.at
	}
	g.emitFiles(n, rest, from, n.nfiles)
}

// emitFiles appends n's files from..to, the first ones in packed, and
// returns the rest of packed.
func (g *globber) emitFiles(n *dirNode, packed string, from, to int) string {
	if from == to {
		return packed
	}
	g.stats.add(len(g.out), n.run.slice(from, to))
	for range to - from {
		end := strings.IndexByte(packed, 0)
		g.out = append(g.out, packed[:end])
		packed = packed[end+1:]
	}
	return packed
}

// scratch is what one walker reuses from folder to folder.
type scratch struct {
	buf, name []byte
	paths     []byte // a folder's entries' paths, which ents point into
	ents      []dirent
	names     arena // what outlives the folder: folders' and files' paths
	files     []string
	stats     []primedStat // beside files
	pack      []byte
	abs       []byte      // a file's full path (verify)
	cur       blockCursor // its place in the index file (verify)
}

func (w *walker) work() {
	var s scratch
	for {
		w.mu.Lock()
		for len(w.todo) == 0 && w.busy > 0 && w.err == nil {
			w.cond.Wait()
		}
		if w.busy == 0 || w.err != nil {
			w.mu.Unlock()
			return
		}
		n := w.todo[len(w.todo)-1]
		w.todo = w.todo[:len(w.todo)-1]
		w.mu.Unlock()

		subs, err := w.g.readFolder(n, &s)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("sources pattern %q: %w", w.r.raw, err)
		}
		w.todo = append(w.todo, subs...)
		w.busy += len(subs) - 1
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

type dirent struct {
	path     string // relative to the Glob's folder; scratch until kept
	from, to int    // where path is in scratch.paths, while it is read
	name     int    // where the name starts in path
	dir      bool
}

// readFolder lists n's folder, keeps the files that match, stat'ing them,
// and returns the subfolders to read.
func (g *globber) readFolder(n *dirNode, s *scratch) ([]*dirNode, error) {
	abs := g.dir
	if n.rel != "." {
		abs = filepath.Join(g.dir, filepath.FromSlash(n.rel))
	}
	fd, err := openDir(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil, nil // removed while we walked
		}
		return nil, &os.PathError{Op: "open", Path: abs, Err: err}
	}
	defer unix.Close(fd)
	ents := s.ents
	defer func() { s.ents = ents[:0] }()
	s.paths = s.paths[:0]
	err = readDirents(abs, fd, &s.buf, func(nm []byte, typ fileType) {
		if typ == typeUnknown || typ == typeLink {
			typ = statType(filepath.Join(abs, string(nm)), typ == typeLink)
		}
		switch typ {
		case typeDir:
			if n := string(nm); n == ".git" || n == ".dtask" {
				return
			}
		case typeFile:
		default:
			return
		}
		e := dirent{from: len(s.paths), dir: typ == typeDir}
		if n.rel != "." {
			s.paths = append(append(s.paths, n.rel...), '/')
		}
		e.name = len(s.paths) - e.from
		s.paths = append(s.paths, nm...)
		e.to = len(s.paths)
		ents = append(ents, e)
	})
	if err != nil {
		return nil, &os.PathError{Op: "readdir", Path: abs, Err: err}
	}
	// s.paths no longer grows: the paths may point into it.
	for i := range ents {
		e := &ents[i]
		e.path = unsafe.String(&s.paths[e.from], e.to-e.from)
	}
	slices.SortFunc(ents, cmpDirent)
	return g.keep(n, fd, ents, s), nil
}

// keep sets n's files from its folder's sorted entries: those that
// match, stat'ed through the open folder fd and verified against the
// index, and its subfolders not excluded, which it returns to be read
// next.
func (g *globber) keep(n *dirNode, fd int, ents []dirent, s *scratch) []*dirNode {
	s.files, s.stats, s.pack = s.files[:0], s.stats[:0], s.pack[:0]
	var subs []*dirNode
	for _, e := range ents {
		if e.dir {
			if g.excluded(e.path) {
				continue
			}
			sub := &dirNode{rel: s.names.str(e.path), all: n.all || g.included(e.path)}
			subs = append(subs, sub)
			n.subs = append(n.subs, subNode{at: len(s.files), dir: sub})
			continue
		}
		if (n.all || g.included(e.path)) && !g.excluded(e.path) {
			var st unix.Stat_t
			var p primedStat
			if statAt(fd, e.path[e.name:], &s.name, &st) == nil {
				p = primedStat{st: statOf(&st)}
			}
			s.files = append(s.files, e.path)
			s.stats = append(s.stats, p)
		}
	}
	for _, f := range s.files {
		s.pack = append(append(s.pack, f...), 0)
	}
	n.nfiles = len(s.files)
	n.packed = s.names.str(unsafe.String(unsafe.SliceData(s.pack), len(s.pack)))
	n.run.verified = make([]bool, len(s.files))
	// Only a folder with a file the index did not match keeps stats, of
	// those files alone.
	if g.verify == nil || !g.verify(&s.cur, g.dir, s.files, s.stats, n.run.verified, &s.abs) {
		n.run.stats = slices.Clone(s.stats)
		for i, v := range n.run.verified {
			if v {
				n.run.stats[i] = primedStat{}
			}
		}
	}
	return subs
}

// arena hands out strings cut from large blocks: a walk's paths are kept
// together until the run ends, and one allocation per path would add its
// size-class rounding and header to each.
type arena struct{ block []byte }

const arenaBlock = 64 << 10

func (a *arena) str(b string) string {
	if len(b) == 0 || len(b) > arenaBlock/8 {
		return string(b)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	// The block's bytes up to len are never written again.
	return unsafe.String(&a.block[start], len(b))
}

// cmpDirent orders entries of one folder as their paths would sort with a
// slash after each folder's name.
func cmpDirent(a, b dirent) int {
	n := min(len(a.path), len(b.path))
	if c := strings.Compare(a.path[:n], b.path[:n]); c != 0 {
		return c
	}
	next := func(e dirent) int {
		switch {
		case len(e.path) > n:
			return int(e.path[n])
		case e.dir:
			return '/'
		}
		return -1
	}
	return next(a) - next(b)
}
