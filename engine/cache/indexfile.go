package cache

import (
	"encoding/binary"
	"maps"
	"os"
	"slices"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// The index file is binary so that tens of thousands of entries load in a
// millisecond or two:
//
//	"dtaskidx1\n" count:uvarint
//	count × { pathlen:uvarint path size mtime ctime ino:8 mode used:4 flags:1 sum:16 }
//	xxh3-64 of everything before it:8
//
// Integers are little-endian. A file that fails any check is ignored.
const indexMagic = "dtaskidx1\n"

const entryFixed = 8*4 + 4 + 4 + 1 + 16

const flagRacy = 1

func encodeIndex(entries map[string]*entry) []byte {
	n := len(indexMagic) + binary.MaxVarintLen64 + 8
	for p := range entries {
		n += binary.MaxVarintLen64 + len(p) + entryFixed
	}
	b := make([]byte, 0, n)
	b = append(b, indexMagic...)
	b = appendEntries(b, entries)
	return binary.LittleEndian.AppendUint64(b, xxh3.Hash(b))
}

// appendEntries appends count:uvarint and the entries.
func appendEntries(b []byte, entries map[string]*entry) []byte {
	b = binary.AppendUvarint(b, uint64(len(entries)))
	le := binary.LittleEndian
	// In path order: a loaded index is searched, not decoded.
	for _, p := range slices.Sorted(maps.Keys(entries)) {
		e := entries[p]
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
		b = le.AppendUint64(b, uint64(e.stat.size))
		b = le.AppendUint64(b, uint64(e.stat.mtime))
		b = le.AppendUint64(b, uint64(e.stat.ctime))
		b = le.AppendUint64(b, e.stat.ino)
		b = le.AppendUint32(b, e.stat.mode)
		b = le.AppendUint32(b, e.used)
		var flags byte
		if e.racy {
			flags |= flagRacy
		}
		b = append(b, flags)
		b = append(b, e.sum[:]...)
	}
	return b
}

// readIndex loads the index file and replays its log over it; a damaged
// file gives an empty index, a damaged log segment is skipped. The log's
// entries come in m; base holds the file's.
func readIndex(path string) (base *baseIndex, m map[string]*entry, baseSize, log int64) {
	m = map[string]*entry{}
	if b, size, ok := loadBase(path); ok {
		base, baseSize = b, size
	}
	if data, err := os.ReadFile(path + ".log"); err == nil {
		replayLog(data, m)
		log = int64(len(data))
	}
	return base, m, baseSize, log
}

// decodeEntry reads the fixed part of an entry.
func decodeEntry(f []byte, e *entry) {
	le := binary.LittleEndian
	e.stat.size = int64(le.Uint64(f[0:]))
	e.stat.mtime = int64(le.Uint64(f[8:]))
	e.stat.ctime = int64(le.Uint64(f[16:]))
	e.stat.ino = le.Uint64(f[24:])
	e.stat.mode = le.Uint32(f[32:])
	e.used = le.Uint32(f[36:])
	e.racy = f[40]&flagRacy != 0
	copy(e.sum[:], f[41:57])
}

// decodeEntries reads what appendEntries wrote into m, all or nothing.
func decodeEntries(body []byte, m map[string]*entry) bool {
	// Map keys are slices of the file's bytes, which nothing writes to
	// after this: no copy, no allocation per path.
	s := unsafe.String(unsafe.SliceData(body), len(body))
	count, n := binary.Uvarint(body)
	if n <= 0 || count > uint64(len(body)/entryFixed) {
		return false
	}
	pos := n
	all := make([]entry, count)
	keys := make([]string, count)
	for i := range all {
		plen, n := binary.Uvarint(body[pos:])
		if n <= 0 || plen > uint64(len(body)-pos-n-entryFixed) {
			return false
		}
		pos += n
		keys[i] = s[pos : pos+int(plen)]
		pos += int(plen)
		decodeEntry(body[pos:pos+entryFixed], &all[i])
		pos += entryFixed
	}
	if pos != len(body) {
		return false
	}
	for i, k := range keys {
		m[k] = &all[i]
	}
	return true
}
