package cache

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"
)

// baseIndex is the index file as loaded. A small file is held whole. A
// large one stays in the file, held open, and is read a block of
// blockEntries entries at a time: memory keeps only where each block
// starts and its first path, and lookups, which walks make in path order,
// read each block once. At 100,000 files that is about 100 KB of memory
// rather than the 8 MB of the entries, which stay in the kernel's page
// cache, outside the process. Holding the file open keeps it as it was
// loaded: a compaction renames a new file over the path.
//
// Files are written in path order; one that is not (an older dtask wrote
// it) is decoded whole into a map until the next compaction rewrites it.
type baseIndex struct {
	r      io.ReaderAt // the file
	whole  []byte      // the file's bytes when it is small; else nil
	starts []uint32    // where each block starts in the file, and where the entries end
	firsts []string    // the first path of each block
	count  int

	unordered map[string]*entry // a file not in path order, decoded whole
	// sorted is false for a file not in path order, until a compaction
	// rewrites it.
	sorted bool

	blk blockCursor // the block the last lookup read; guarded by Index.mu
}

// blockEntries is how many entries a block holds: a lookup out of path
// order reads about 64 × 100 bytes.
const blockEntries = 64

// keepWhole is the largest index file held whole in memory: below it, the
// lookups of many small targets out of path order would each read a block.
const keepWhole = 2 << 20

// loadBase reads the index file at path and returns it with its size; a
// missing or damaged file gives ok false.
func loadBase(path string) (b *baseIndex, size int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false
	}
	size = fi.Size()
	if size > keepWhole {
		b, ok = readBase(f, nil, size)
		if !ok {
			f.Close()
		}
		return b, size, ok
	}
	defer f.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, 0, false
	}
	b, ok = decodeIndex(data)
	return b, size, ok
}

func decodeIndex(data []byte) (*baseIndex, bool) {
	return readBase(bytes.NewReader(data), data, int64(len(data)))
}

// readBase checks an index file of size bytes (whole, if it is held in
// memory), streaming it once: its checksum, its structure, and whether it
// is in path order, noting where each block starts and its first path.
// All or nothing.
func readBase(r io.ReaderAt, whole []byte, size int64) (*baseIndex, bool) {
	if size < int64(len(indexMagic))+9 || size > 1<<32-1 {
		return nil, false
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, false
	}
	h := xxh3.New()
	sc, count, ok := scanEntries(io.TeeReader(io.NewSectionReader(r, 0, size-8), h), size)
	if !ok {
		return nil, false
	}
	b := &baseIndex{r: r, whole: whole, count: int(count)}
	var firsts []byte
	var firstEnds []int
	var prev []byte
	sorted := true
	for i := range count {
		at := sc.pos
		path, _, ok := sc.next()
		if !ok {
			return nil, false
		}
		sorted = sorted && (i == 0 || bytes.Compare(prev, path) < 0)
		prev = append(prev[:0], path...)
		if i%blockEntries == 0 {
			b.starts = append(b.starts, uint32(at))
			firsts = append(firsts, path...)
			firstEnds = append(firstEnds, len(firsts))
		}
	}
	b.starts = append(b.starts, uint32(sc.pos))
	if _, err := sc.r.ReadByte(); err != io.EOF || h.Sum64() != binary.LittleEndian.Uint64(tail[:]) {
		return nil, false
	}
	all := string(firsts)
	from := 0
	for _, end := range firstEnds {
		b.firsts = append(b.firsts, all[from:end])
		from = end
	}
	b.sorted = sorted
	if !sorted {
		b.unordered = make(map[string]*entry, count)
		if !b.decodeAll(b.unordered) {
			return nil, false
		}
	}
	return b, true
}

// entryScanner reads an index file's entries one by one into buffers
// that each call reuses, counting the bytes it has read.
type entryScanner struct {
	r     *bufio.Reader
	size  int64
	pos   int64
	path  []byte
	fixed [entryFixed]byte
}

// scanEntries reads the magic and the count from r, a file of size bytes.
func scanEntries(r io.Reader, size int64) (*entryScanner, uint64, bool) {
	sc := &entryScanner{r: bufio.NewReaderSize(r, 256<<10), size: size}
	var magic [len(indexMagic)]byte
	if _, err := io.ReadFull(sc.r, magic[:]); err != nil || string(magic[:]) != indexMagic {
		return nil, 0, false
	}
	count, err := binary.ReadUvarint(sc.r)
	if err != nil || count > uint64(size/entryFixed) {
		return nil, 0, false
	}
	sc.pos = int64(len(indexMagic) + uvarintLen(count))
	return sc, count, true
}

func (sc *entryScanner) next() (path, fixed []byte, ok bool) {
	plen, err := binary.ReadUvarint(sc.r)
	if err != nil || plen > uint64(sc.size) {
		return nil, nil, false
	}
	sc.path = slices.Grow(sc.path[:0], int(plen))[:plen]
	if _, err := io.ReadFull(sc.r, sc.path); err != nil {
		return nil, nil, false
	}
	if _, err := io.ReadFull(sc.r, sc.fixed[:]); err != nil {
		return nil, nil, false
	}
	sc.pos += int64(uvarintLen(plen)) + int64(plen) + entryFixed
	return sc.path, sc.fixed[:], true
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// unsorted says the file needs rewriting in path order.
func (b *baseIndex) unsorted() bool { return b != nil && !b.sorted }

// len is the number of entries.
func (b *baseIndex) len() int {
	if b == nil {
		return 0
	}
	return b.count
}

// all decodes every entry into m (compaction).
func (b *baseIndex) all(m map[string]*entry) {
	if b == nil {
		return
	}
	if b.unordered != nil {
		for p, e := range b.unordered {
			m[p] = e
		}
		return
	}
	b.decodeAll(m)
}

// decodeAll reads every block into m; false if one cannot be read.
func (b *baseIndex) decodeAll(m map[string]*entry) bool {
	var c blockCursor
	for i := range len(b.firsts) {
		if !b.load(&c, i) {
			return false
		}
		es := make([]entry, len(c.offs))
		for j, off := range c.offs {
			path, end, _ := pathAt(c.data, int(off))
			decodeEntry(c.data[end-entryFixed:end], &es[j])
			m[strings.Clone(path)] = &es[j]
		}
	}
	return true
}
