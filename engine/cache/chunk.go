package cache

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"time"

	"github.com/zeebo/xxh3"
	"golang.org/x/sys/unix"
)

// Records of targets with many sources keep their lines in chunks named
// by their content: the records of successive edits share every chunk but
// the one holding the edited file's line, so an edit adds a few kilobytes
// to .dtask/ rather than a copy of the whole file list.
//
// A chunk ends after a line whose label hashes to a multiple of
// lineSpread (or at chunkMax lines): boundaries depend on the lines
// themselves, so adding or removing a file changes one chunk, not every
// chunk after it.
//
// The chunks' references are cut the same way, level by level, into sets
// (sets/): a set lists chunks or sets below it, and a level ends after a
// chunk whose last label hashes to a multiple of lineSpread times
// refSpread to the power of the level: a set's bounds, like a chunk's,
// depend on labels only, so an edit rewrites one set per level. The record keeps only the top level's references, so an
// edit among 300,000 files writes one chunk, one set per level and a
// record of a few dozen lines, and a record shares its whole file list
// with the previous one when no file changed.
const (
	chunkFrom  = 128 // records with fewer lines (or references) keep them inline
	lineSpread = 64  // lines per chunk on average: about 5 KB
	refSpread  = 128 // references per set on average
	chunkMax   = 512 // lines or references
	maxLevels  = 6   // deeper is a damaged set
)

// chunk is a stored run of a record's lines (a leaf) or of references to
// chunks below it (a set).
type chunk struct {
	name  string
	data  []byte // a set's; nil for a leaf (bytes)
	set   bool
	lines int    // record lines beneath
	last  uint64 // hash of the label of the last line beneath
	kids  []*chunk
	// A leaf's lines are src's stored lines from from on: a leaf keeps no
	// bytes or strings, and only the few a Put finds missing are encoded
	// again (keeping them all grew an 8 MB buffer per run at 100k files).
	src  *Key
	from int
}

// chunkTree cuts k's stored lines into leaves, then their references into
// sets, until fewer than chunkFrom references are left: the record's own.
// It reads the lines as k streams them: building a string per line was
// most of what recording an edit among 100,000 files cost.
func chunkTree(k *Key) []*chunk {
	var level []*chunk
	var buf []byte
	n, i, from := k.Len(), 0, 0
	k.eachStored(0, n, func(label, value []byte) {
		buf = appendLine(buf, arenaString(label), arenaString(value))
		h := xxh3.Hash(label)
		if i++; i < n && i-from < chunkMax && h%lineSpread != 0 {
			return
		}
		c := newChunk(buf, false, i-from, h, nil)
		c.data, c.src, c.from = nil, k, from
		level = append(level, c)
		buf, from = buf[:0], i
	})
	for span := uint64(lineSpread * refSpread); len(level) >= chunkFrom; span *= refSpread {
		level = groupChunks(level, span)
	}
	return level
}

// bytes is what c stores: a leaf's lines are encoded again.
func (c *chunk) bytes() []byte {
	if c.data != nil {
		return c.data
	}
	var b []byte
	c.src.eachStored(c.from, c.from+c.lines, func(label, value []byte) {
		b = appendLine(b, arenaString(label), arenaString(value))
	})
	return b
}

// groupChunks cuts a level's references into sets, each ending after a
// chunk whose last label's hash is a multiple of span.
func groupChunks(level []*chunk, span uint64) []*chunk {
	var up []*chunk
	var data []byte
	from, lines := 0, 0
	for i, c := range level {
		data = appendRef(data, c)
		lines += c.lines
		if i < len(level)-1 && i+1-from < chunkMax && c.last%span != 0 {
			continue
		}
		up = append(up, newChunk(bytes.Clone(data), true, lines, c.last, level[from:i+1]))
		data, from, lines = data[:0], i+1, 0
	}
	return up
}

func newChunk(data []byte, set bool, lines int, last uint64, kids []*chunk) *chunk {
	sum := xxh3.Hash128(data).Bytes()
	return &chunk{name: hex.EncodeToString(sum[:]), data: data, set: set, lines: lines, last: last, kids: kids}
}

// appendRef appends the line that names c: "@NAME<TAB>LINES" for a leaf,
// "@@NAME<TAB>LINES" for a set.
func appendRef(b []byte, c *chunk) []byte {
	b = append(b, '@')
	if c.set {
		b = append(b, '@')
	}
	b = append(append(b, c.name...), '\t')
	return append(appendInt(b, c.lines), '\n')
}

// writeLines appends k's stored lines to body, inline or as references
// to chunks and sets, storing those not stored yet.
func (s *Store) writeLines(body *bytes.Buffer, k *Key) error {
	if k.Len() < chunkFrom {
		var b []byte
		k.eachStored(0, k.Len(), func(label, value []byte) {
			b = appendLine(b, arenaString(label), arenaString(value))
		})
		body.Write(b)
		return nil
	}
	var b []byte
	for _, c := range k.chunks() {
		if err := s.putChunk(c); err != nil {
			return err
		}
		b = appendRef(b, c)
	}
	body.Write(b)
	return nil
}

// chunks is k's chunk tree, cut once: Why cuts it to find what changed,
// and the Put after the run stores it.
func (k *Key) chunks() []*chunk {
	if k.tree == nil {
		k.tree = chunkTree(k)
	}
	return k.tree
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// putChunk stores c unless it is there already, in which case it is
// marked used now so that pruning keeps it (and, for a set, what it
// names). A set is written after what it names, so a stored set's chunks
// are stored too: an unchanged file list costs one stat, an edit one
// chunk and one set per level.
func (s *Store) putChunk(c *chunk) error {
	p := s.chunkPath(c.name, c.set)
	if touched(p) {
		return nil
	}
	for _, k := range c.kids {
		if err := s.putChunk(k); err != nil {
			return err
		}
	}
	return s.writeIn(p, c.bytes())
}

// touched marks the file at p used now and says whether it is there: one
// utimensat, not a stat and then a utimensat, for each of the hundred or
// so chunks an edit's new set names. A link is touched, not followed.
func touched(p string) bool {
	now := unix.NsecToTimespec(time.Now().UnixNano())
	err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{now, now}, unix.AT_SYMLINK_NOFOLLOW)
	switch err {
	case nil:
		return true
	case unix.ENOENT:
		return false
	}
	// Not ours to touch (another user's shared folder): there all the
	// same.
	_, lerr := os.Lstat(p)
	return lerr == nil
}

// chunkPath is where a chunk (or a set) is stored.
func (s *Store) chunkPath(name string, set bool) string {
	folder := "chunks"
	if set {
		folder = "sets"
	}
	return filepath.Join(s.dir, folder, name[:2], name)
}

// readLines parses a record's lines, reading the chunks they name. A
// missing or damaged chunk makes the record corrupt: a miss.
func (s *Store) readLines(out *[]Line, text string) error {
	return parseLines(out, text, func(name string, n int, set bool) error {
		return s.readChunk(out, name, n, set, 0)
	})
}

// readChunk appends the lines a chunk holds, or a set names, checking
// the content against its name and the count against the reference. A
// damaged chunk is removed, and so is every set above it on the way back:
// a Put stops at the first stored set it finds, so a set left in place
// would keep the damage beneath it for every later record.
func (s *Store) readChunk(out *[]Line, name string, n int, set bool, depth int) error {
	err := s.readChunkOnce(out, name, n, set, depth)
	if err != nil && len(name) == 32 && validKey(name) {
		_ = os.Remove(s.chunkPath(name, set))
	}
	return err
}

func (s *Store) readChunkOnce(out *[]Line, name string, n int, set bool, depth int) error {
	data, err := s.chunkData(name, set)
	if err != nil || depth > maxLevels {
		return errCorrupt
	}
	before := len(*out)
	var ref func(string, int, bool) error
	if set {
		ref = func(name string, n int, set bool) error { return s.readChunk(out, name, n, set, depth+1) }
	}
	if err := parseLines(out, string(data), ref); err != nil {
		return err
	}
	if len(*out)-before != n {
		return errCorrupt
	}
	return nil
}

// chunkData reads a chunk or set and checks it against its name.
func (s *Store) chunkData(name string, set bool) ([]byte, error) {
	if len(name) != 32 || !validKey(name) {
		return nil, errCorrupt
	}
	data, err := os.ReadFile(s.chunkPath(name, set))
	if err != nil {
		return nil, errCorrupt
	}
	sum := xxh3.Hash128(data).Bytes()
	if hex.EncodeToString(sum[:]) != name {
		return nil, errCorrupt
	}
	return data, nil
}
