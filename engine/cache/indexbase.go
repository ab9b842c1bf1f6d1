package cache

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// baseIndex is the index file as loaded: its bytes and where each entry
// starts, in path order. Lookups binary-search it and decode the one
// entry they need, so that a tree of 100,000 files costs the file's bytes
// and 4 bytes per file, not a map of 100,000 keys and entries. Files are
// written in path order; one that is not (an older dtask wrote it) is
// sorted here.
type baseIndex struct {
	body []byte   // the entries, after count
	offs []uint32 // where each entry's pathlen starts in body
	next int      // where the next lookup most likely is: walks look up in order
	// sorted is false for a file not in path order, sorted here on every
	// load until the next compaction rewrites it.
	sorted bool
}

// parseBase checks the structure of the entries after count in body and
// notes where each starts; all or nothing.
func parseBase(body []byte) (*baseIndex, bool) {
	count, n := binary.Uvarint(body)
	if n <= 0 || count > uint64(len(body)/entryFixed) {
		return nil, false
	}
	b := &baseIndex{body: body, offs: make([]uint32, 0, count)}
	sorted := true
	var prev string
	for pos := n; pos < len(body); {
		if uint64(len(b.offs)) == count {
			return nil, false
		}
		path, end, ok := pathAt(body, pos)
		if !ok {
			return nil, false
		}
		sorted = sorted && (len(b.offs) == 0 || prev < path)
		b.offs = append(b.offs, uint32(pos))
		prev, pos = path, end
	}
	if uint64(len(b.offs)) != count || uint64(len(body)) > 1<<32-1 {
		return nil, false
	}
	b.sorted = sorted
	if !sorted {
		slices.SortFunc(b.offs, func(x, y uint32) int { return strings.Compare(b.path(x), b.path(y)) })
	}
	return b, true
}

// pathAt reads the entry at pos: its path and where the next one starts.
// The path aliases body, which nothing writes to after loading.
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
		m[path] = &es[i]
	}
}
