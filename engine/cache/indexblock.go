package cache

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"
)

// blockCursor is one block of the index file in memory, with where each
// of its entries starts.
// Its zero value holds no block.
type blockCursor struct {
	held int      // which block, plus one; 0 for none
	data []byte   // the block: a slice of the whole file, or a buffer each read reuses
	offs []uint32 // where each entry starts in data
	next int      // the entry after the last one found: walks look up in order
}

// find returns the entry for abs. Index.mu is held: the cursor moves.
func (b *baseIndex) find(abs string) (entry, bool) {
	if b == nil {
		return entry{}, false
	}
	return b.findAt(&b.blk, abs)
}

// findAt returns the entry for abs, reading blocks into c, the caller's
// own cursor: walkers of different folders each keep their place.
func (b *baseIndex) findAt(c *blockCursor, abs string) (entry, bool) {
	if b == nil || b.count == 0 {
		return entry{}, false
	}
	if b.unordered != nil {
		if e := b.unordered[abs]; e != nil {
			return *e, true
		}
		return entry{}, false
	}
	i := c.held - 1
	if i < 0 || abs < b.firsts[i] || i+1 < len(b.firsts) && abs >= b.firsts[i+1] {
		var found bool
		if i, found = slices.BinarySearch(b.firsts, abs); !found {
			i-- // the block before the first path greater than abs
		}
		if i < 0 {
			return entry{}, false
		}
	}
	if !b.load(c, i) {
		return entry{}, false
	}
	k := c.next
	if k >= len(c.offs) || c.path(k) != abs {
		var found bool
		k, found = slices.BinarySearchFunc(c.offs, abs, func(off uint32, t string) int {
			p, _, _ := pathAt(c.data, int(off))
			return strings.Compare(p, t)
		})
		if !found {
			return entry{}, false
		}
	}
	c.next = k + 1
	_, end, _ := pathAt(c.data, int(c.offs[k]))
	var e entry
	decodeEntry(c.data[end-entryFixed:end], &e)
	return e, true
}

func (c *blockCursor) path(k int) string {
	p, _, _ := pathAt(c.data, int(c.offs[k]))
	return p
}

// load reads block i into c. Only an I/O error makes it fail: the file
// is the one checked when it was loaded.
func (b *baseIndex) load(c *blockCursor, i int) bool {
	if c.held == i+1 {
		return true
	}
	c.held = 0
	from, to := b.starts[i], b.starts[i+1]
	if b.whole != nil {
		c.data = b.whole[from:to]
	} else {
		c.data = slices.Grow(c.data[:0], int(to-from))[:to-from]
		if _, err := b.r.ReadAt(c.data, int64(from)); err != nil {
			return false
		}
	}
	c.offs = c.offs[:0]
	for pos := 0; pos < len(c.data); {
		_, end, ok := pathAt(c.data, pos)
		if !ok {
			return false
		}
		c.offs = append(c.offs, uint32(pos))
		pos = end
	}
	c.held, c.next = i+1, 0
	return true
}

// pathAt reads the entry at pos: its path and where the next one starts.
// The path aliases data, which nothing writes to while it is used.
func pathAt(data []byte, pos int) (path string, end int, ok bool) {
	plen, n := binary.Uvarint(data[pos:])
	if n <= 0 || plen > uint64(len(data)-pos-n-entryFixed) {
		return "", 0, false
	}
	start := pos + n
	path = unsafe.String(unsafe.SliceData(data[start:]), int(plen))
	return path, start + int(plen) + entryFixed, true
}
