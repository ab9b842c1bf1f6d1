package cache

import (
	"encoding/hex"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// racyWindow is how close to the time its content was read a file's mtime
// may be before the index stops trusting it: a write in the same timestamp
// tick leaves size and mtime as they were (git's racy-git problem). Two
// seconds covers coarse kernel clocks and FAT's 2 s mtimes.
const racyWindow = 2 * time.Second

// unusedFor is how long an entry no run has looked at is kept.
const unusedFor = 30 * 24 * time.Hour

// Index is the stat index: for each file, the stat it had when its content
// was hashed, and that hash. It is safe for concurrent use.
type Index struct {
	path string

	mu      sync.Mutex
	file    *baseIndex        // the index file's entries
	entries map[string]*entry // the log's and this process's, over file's
	changed map[string]*entry // what this process changed since it loaded or saved
	base    int64             // size of the index file as loaded

	reads      atomic.Int64 // files whose content was read; tests count them
	primedHits atomic.Int64 // stats taken from a Glob; tests count them

	pmu    sync.Mutex
	primes []*primedList // newest first

	fol *following // watch mode (Follow); set before use, guarded by mu
}

type entry struct {
	stat stat
	sum  [16]byte
	used uint32 // day (since the epoch) a run last looked it up
	racy bool   // mtime too close to when the content was read: re-read
}

// stat is what decides that a file may have changed.
type stat struct {
	size  int64
	mtime int64 // ns
	ctime int64 // ns
	ino   uint64
	mode  uint32
}

// OpenIndex loads the index at path; a missing or damaged one is empty.
func OpenIndex(path string) *Index {
	ix := &Index{path: path, changed: map[string]*entry{}}
	ix.file, ix.entries, ix.base, _ = readIndex(path)
	return ix
}

// Hash returns the content hash (hex xxh3-128) of the file at abs. It
// re-reads the file only when its stat changed since it was hashed or the
// entry is racy.
func (ix *Index) Hash(abs string) (string, error) {
	sum, err := ix.hash(abs, nil)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// HashAll hashes many files and returns their hashes in the same order.
func (ix *Index) HashAll(abs []string) ([]string, error) {
	sums, err := ix.hashMany(len(abs), func(buf []byte, i int) []byte { return append(buf, abs[i]...) })
	if err != nil {
		return nil, err
	}
	out := make([]string, len(abs))
	for i := range out {
		out[i] = hex.EncodeToString(sums[16*i : 16*i+16])
	}
	return out, nil
}

// HashFiles hashes the files root/rels[i] (rels slash-separated and clean)
// and returns their sums, 16 bytes per file, in the same order. It builds
// no path string for a file the index answers for.
// Following events, a Glob's kept list is answered from the sums kept
// for it, looking up only the files events named (follow.go).
func (ix *Index) HashFiles(root string, rels []string) ([]byte, error) {
	if sums, ok, err := ix.hashKept(root, rels); ok {
		return sums, err
	}
	ix.mu.Lock()
	epoch := ix.epochNow()
	ix.mu.Unlock()
	sums, err := ix.hashMany(len(rels), func(buf []byte, i int) []byte { return appendPath(buf, root, rels[i]) })
	if err == nil {
		ix.keepSums(root, rels, sums, epoch)
	}
	return sums, err
}

// miss is a file the index could not answer for.
type miss struct {
	i   int
	abs string
	p   probe
}

// hashMany looks n files up (path appends the i-th one's path to buf),
// then reads those it must on a worker per CPU.
func (ix *Index) hashMany(n int, path func(buf []byte, i int) []byte) ([]byte, error) {
	sums := make([]byte, 16*n)
	var misses []miss
	var buf []byte
	for i := range n {
		buf = path(buf[:0], i)
		// The lookup keeps no reference to the buffer it is given.
		abs := unsafe.String(unsafe.SliceData(buf), len(buf))
		p, err := ix.lookup(abs)
		if err != nil {
			return nil, err
		}
		if p.hit {
			copy(sums[16*i:], p.sum[:])
			continue
		}
		misses = append(misses, miss{i: i, abs: string(buf), p: p})
	}
	return sums, ix.readMisses(misses, sums)
}

// readMisses hashes the missed files' content into sums, in parallel.
func (ix *Index) readMisses(misses []miss, sums []byte) error {
	// Twice the CPUs: a worker blocked in open or read leaves its CPU to another.
	workers := min(2*runtime.GOMAXPROCS(0), (len(misses)+15)/16)
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			buf := bufPool.Get().(*[]byte)
			defer bufPool.Put(buf)
			for !failed.Load() {
				n := int(next.Add(1)) - 1
				if n >= len(misses) {
					return
				}
				m := misses[n]
				sum, err := ix.read(m.abs, m.p, *buf)
				if err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				copy(sums[16*m.i:], sum[:])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

// probe is what a lookup found: the file's stat, the time before it was
// taken, and the hash if the index could answer.
type probe struct {
	cur   stat
	now   time.Time
	sum   [16]byte
	hit   bool
	epoch uint64 // events followed before the stat (Follow)
}

// hash looks abs up and reads it if it must, into *buf, or a buffer from
// the pool if buf is nil.
func (ix *Index) hash(abs string, buf *[]byte) ([16]byte, error) {
	p, err := ix.lookup(abs)
	if err != nil || p.hit {
		return p.sum, err
	}
	if buf == nil {
		buf = bufPool.Get().(*[]byte)
		defer bufPool.Put(buf)
	}
	return ix.read(abs, p, *buf)
}

// lookup stats abs (or takes the stat a Glob just took) and answers from
// the index if the entry matches and is not racy.
func (ix *Index) lookup(abs string) (probe, error) {
	var epoch uint64
	if ix.fol != nil {
		ix.mu.Lock()
		sum, ok := ix.trusted(abs)
		epoch = ix.epochNow()
		ix.mu.Unlock()
		if ok {
			return probe{sum: sum, hit: true}, nil
		}
	}
	// now is taken before the stat: the racy rule needs a time no later
	// than the stat's.
	pr, ok := ix.takePrimed(abs)
	if ok && pr.verified {
		if sum, hit := ix.verified(abs, epoch); hit {
			return probe{sum: sum, hit: true}, nil
		}
		ok = false
	}
	cur, now := pr.st, pr.at
	if !ok {
		now = time.Now()
		var st unix.Stat_t
		if err := unix.Stat(abs, &st); err != nil {
			return probe{}, &os.PathError{Op: "stat", Path: abs, Err: err}
		}
		cur = statOf(&st)
	}
	p := probe{cur: cur, now: now, epoch: epoch}
	today := uint32(now.Unix() / 86400)

	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.get(abs)
	if ok && e.stat == cur && !e.racy {
		if e.used != today {
			e.used = today
			ix.set(strings.Clone(abs), e)
		}
		p.sum, p.hit = e.sum, true
		ix.trust(abs, e.sum, epoch)
	}
	return p, nil
}

// verified answers for a file the walk found unchanged (verify): the
// index's hash, unless the entry became racy since, when it must be
// stat'ed again. An entry this process replaced since holds newer
// content of the file than the walk saw, which a run may use as well.
func (ix *Index) verified(abs string, epoch uint64) ([16]byte, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.get(abs)
	if !ok || e.racy {
		return [16]byte{}, false
	}
	ix.trust(abs, e.sum, epoch)
	return e.sum, true
}

// verify marks which of a folder's files (rels, under dir) the index
// holds with the stat the walk just took (sts), not racy, and marks those
// looked up today; it reports whether all of them were. c is the
// walker's own place in the index file; buf is scratch. One lock per
// folder rather than per file.
func (ix *Index) verify(c *blockCursor, dir string, rels []string, sts []primedStat, verified []bool, buf *[]byte) bool {
	today := uint32(time.Now().Unix() / 86400)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	all := true
	for i, r := range rels {
		*buf = appendPath((*buf)[:0], dir, r)
		// The lookup keeps no reference to the buffer it is given.
		abs := unsafe.String(unsafe.SliceData(*buf), len(*buf))
		e, ok := ix.getAt(c, abs)
		if !ok || !sts[i].ok() || e.stat != sts[i].st || e.racy {
			all = false
			continue
		}
		verified[i] = true
		if e.used != today {
			e.used = today
			ix.set(strings.Clone(abs), e)
		}
	}
	return all
}

// following says the index follows events (Follow).
func (ix *Index) following() bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.fol != nil
}

// read hashes the content of abs and records it with the stat the lookup
// took before: a change after that stat gives a new stat next time, a
// change within the same tick makes the entry racy.
func (ix *Index) read(abs string, p probe, buf []byte) ([16]byte, error) {
	ix.reads.Add(1)
	sum, err := hashFile(abs, p.cur, buf)
	if err != nil {
		return [16]byte{}, err
	}
	racy := p.cur.mtime >= p.now.Add(-racyWindow).UnixNano()
	today := uint32(p.now.Unix() / 86400)

	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, ok := ix.get(abs)
	e := entry{stat: p.cur, sum: sum, used: today, racy: racy}
	if !ok || old != e {
		ix.set(abs, e)
	}
	ix.trust(abs, sum, p.epoch)
	return sum, nil
}

// get returns the entry for abs: this process's or the log's, else the
// index file's.
func (ix *Index) get(abs string) (entry, bool) {
	if e := ix.entries[abs]; e != nil {
		return *e, true
	}
	return ix.file.find(abs)
}

// getAt is get with the caller's own cursor into the index file.
func (ix *Index) getAt(c *blockCursor, abs string) (entry, bool) {
	if e := ix.entries[abs]; e != nil {
		return *e, true
	}
	return ix.file.findAt(c, abs)
}

// set keeps e as abs's entry, to be saved.
func (ix *Index) set(abs string, e entry) {
	p := &e
	ix.entries[abs] = p
	ix.changed[abs] = p
}
