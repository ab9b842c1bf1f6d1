package cache

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"slices"
	"strings"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// baseIndex is the index file as loaded: its entries, in path order,
// each path without the prefix all of them share, and where each entry
// starts. Lookups binary-search it and decode the one entry they need, so
// that a tree of 100,000 files costs about the file's bytes less the
// shared prefix (the project's folder, 40 bytes or more a file) and 4
// bytes per file, not a map of 100,000 keys and entries. Files are
// written in path order; one that is not (an older dtask wrote it) is
// sorted here.
type baseIndex struct {
	prefix string   // what every path starts with
	body   []byte   // the entries: pathlen, the path after prefix, the fixed part
	offs   []uint32 // where each entry's pathlen starts in body
	next   int      // where the next lookup most likely is: walks look up in order
	// sorted is false for a file not in path order, sorted here on every
	// load until the next compaction rewrites it.
	sorted bool
}

// loadBase reads the index file at path and returns it with its size; a
// missing or damaged file gives ok false.
func loadBase(path string) (b *baseIndex, size int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, false
	}
	b, ok = readBase(f, fi.Size())
	return b, fi.Size(), ok
}

func decodeIndex(data []byte) (*baseIndex, bool) {
	return readBase(bytes.NewReader(data), int64(len(data)))
}

// readBase reads an index file of size bytes in two streaming passes, so
// that the file is never in memory whole beside its loaded form: the
// first checks its checksum and structure and finds the prefix all paths
// share, the second keeps each entry without that prefix. All or nothing.
func readBase(r io.ReaderAt, size int64) (*baseIndex, bool) {
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
	var first []byte
	lcp, total := 0, 0
	for i := range count {
		path, _, ok := sc.next()
		if !ok {
			return nil, false
		}
		if i == 0 {
			first, lcp = slices.Clone(path), len(path)
		}
		lcp = commonPrefix(first[:lcp], path)
		total += binary.MaxVarintLen16 + len(path) + entryFixed
	}
	if _, err := sc.r.ReadByte(); err != io.EOF || h.Sum64() != binary.LittleEndian.Uint64(tail[:]) {
		return nil, false
	}
	sc, _, _ = scanEntries(io.NewSectionReader(r, 0, size-8), size)
	b := &baseIndex{
		prefix: string(first[:lcp]),
		body:   make([]byte, 0, total-int(count)*lcp),
		offs:   make([]uint32, 0, count),
		sorted: true,
	}
	var prev []byte
	for range count {
		path, fixed, ok := sc.next()
		if !ok {
			return nil, false // changed between the passes
		}
		b.sorted = b.sorted && (prev == nil || bytes.Compare(prev, path) < 0)
		prev = append(prev[:0], path...)
		b.offs = append(b.offs, uint32(len(b.body)))
		b.body = binary.AppendUvarint(b.body, uint64(len(path)-lcp))
		b.body = append(append(b.body, path[lcp:]...), fixed...)
	}
	if !b.sorted {
		slices.SortFunc(b.offs, func(x, y uint32) int { return strings.Compare(b.path(x), b.path(y)) })
	}
	return b, true
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// entryScanner reads an index file's entries one by one into buffers
// that each call reuses.
type entryScanner struct {
	r     *bufio.Reader
	size  int64
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
	return sc.path, sc.fixed[:], true
}

// pathAt reads the entry at pos: its path after the prefix and where the
// next one starts. The path aliases body, which nothing writes to after
// loading.
func pathAt(body []byte, pos int) (path string, end int, ok bool) {
	plen, n := binary.Uvarint(body[pos:])
	if n <= 0 || plen > uint64(len(body)-pos-n-entryFixed) {
		return "", 0, false
	}
	start := pos + n
	path = unsafe.String(unsafe.SliceData(body[start:]), int(plen))
	return path, start + int(plen) + entryFixed, true
}

func (b *baseIndex) path(off uint32) string {
	p, _, _ := pathAt(b.body, int(off))
	return p
}

// find returns the entry for abs.
func (b *baseIndex) find(abs string) (entry, bool) {
	if b == nil || len(b.offs) == 0 {
		return entry{}, false
	}
	abs, ok := strings.CutPrefix(abs, b.prefix)
	if !ok {
		return entry{}, false
	}
	i := b.next
	if i >= len(b.offs) || b.path(b.offs[i]) != abs {
		var found bool
		i, found = slices.BinarySearchFunc(b.offs, abs, func(off uint32, t string) int { return strings.Compare(b.path(off), t) })
		if !found {
			return entry{}, false
		}
	}
	b.next = i + 1
	_, end, _ := pathAt(b.body, int(b.offs[i]))
	var e entry
	decodeEntry(b.body[end-entryFixed:end], &e)
	return e, true
}

// unsorted says the file needs rewriting in path order.
func (b *baseIndex) unsorted() bool { return b != nil && !b.sorted }

// len is the number of entries.
func (b *baseIndex) len() int {
	if b == nil {
		return 0
	}
	return len(b.offs)
}

// all decodes every entry into m (compaction).
func (b *baseIndex) all(m map[string]*entry) {
	if b == nil {
		return
	}
	es := make([]entry, len(b.offs))
	for i, off := range b.offs {
		path, end, _ := pathAt(b.body, int(off))
		decodeEntry(b.body[end-entryFixed:end], &es[i])
		m[b.prefix+path] = &es[i]
	}
}
