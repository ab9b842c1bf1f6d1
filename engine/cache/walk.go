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
	rel   string
	all   bool // a folder above matched an include: every file is in
	files []string
	run   primedRun // beside files
	subs  []subNode
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
	c := len(n.files)
	for _, s := range n.subs {
		c += s.dir.count()
	}
	return c
}

func (g *globber) emit(n *dirNode) {
	from := 0
	for _, s := range n.subs {
		g.emitFiles(n, from, s.at)
		g.emit(s.dir)
		from = s.at
	}
	g.emitFiles(n, from, len(n.files))
}

func (g *globber) emitFiles(n *dirNode, from, to int) {
	if from == to {
		return
	}
	g.stats.add(len(g.out), n.run.slice(from, to))
	g.out = append(g.out, n.files[from:to]...)
}

// scratch is what one walker reuses from folder to folder.
type scratch struct {
	buf, name []byte
	ents      []dirent
	names     arena
	stats     []primedStat
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
	path string // relative to the Glob's folder
	name int    // where the name starts in path
	dir  bool
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
	err = readDirents(abs, fd, &s.buf, func(nm []byte, typ fileType) {
		s.name = s.name[:0]
		if n.rel != "." {
			s.name = append(append(s.name, n.rel...), '/')
		}
		e := dirent{name: len(s.name)}
		e.path = s.names.str(append(s.name, nm...))
		if typ == typeUnknown || typ == typeLink {
			typ = statType(filepath.Join(abs, e.path[e.name:]), typ == typeLink)
		}
		switch typ {
		case typeDir:
			if n := e.path[e.name:]; n == ".git" || n == ".dtask" {
				return
			}
			e.dir = true
		case typeFile:
		default:
			return
		}
		ents = append(ents, e)
	})
	if err != nil {
		return nil, &os.PathError{Op: "readdir", Path: abs, Err: err}
	}
	slices.SortFunc(ents, cmpDirent)
	return g.keep(n, fd, ents, s), nil
}

// keep sets n's files from its folder's sorted entries: those that
// match, stat'ed through the open folder fd and verified against the
// index, and its subfolders not excluded, which it returns to be read
// next.
func (g *globber) keep(n *dirNode, fd int, ents []dirent, s *scratch) []*dirNode {
	nf := 0
	for _, e := range ents {
		if !e.dir {
			nf++
		}
	}
	n.files = make([]string, 0, nf)
	s.stats = s.stats[:0]
	var subs []*dirNode
	for _, e := range ents {
		if e.dir {
			if g.excluded(e.path) {
				continue
			}
			sub := &dirNode{rel: e.path, all: n.all || g.included(e.path)}
			subs = append(subs, sub)
			n.subs = append(n.subs, subNode{at: len(n.files), dir: sub})
			continue
		}
		if (n.all || g.included(e.path)) && !g.excluded(e.path) {
			var st unix.Stat_t
			var p primedStat
			if statAt(fd, e.path[e.name:], &s.name, &st) == nil {
				p = primedStat{st: statOf(&st)}
			}
			n.files = append(n.files, e.path)
			s.stats = append(s.stats, p)
		}
	}
	n.run.verified = make([]bool, len(n.files))
	// Only a folder with a file the index did not match keeps stats, of
	// those files alone.
	if g.verify == nil || !g.verify(&s.cur, g.dir, n.files, s.stats, n.run.verified, &s.abs) {
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

func (a *arena) str(b []byte) string {
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
