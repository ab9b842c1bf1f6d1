package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// Key collects labelled lines and hashes them into a key.
type Key struct {
	target string
	lines  []Line
	// files are runs of source lines kept compactly (one path and 16 bytes
	// per file, no label or hex string): a tree of 100,000 files would
	// otherwise hold 100,000 of each for a key that is only hashed. A run
	// comes after lines[:at].
	files []fileRun
	// Redact, when set, masks secret values (it returns its argument
	// changed when that holds a secret). The key hashes the real values;
	// what is stored or printed holds only a hash of them, keyed with
	// Secret (the store's SecretKey).
	Redact func(string) string
	Secret []byte
	// Debug receives the DTASK_DEBUG_HASH output; nil: stderr.
	Debug io.Writer

	stored []Line   // Stored's result
	tree   []*chunk // chunks' result: a miss cuts for Why, then for Put
}

// fileRun is the lines "PREFIX+rel" → hex of sum, one per file.
type fileRun struct {
	at     int
	prefix string
	rels   []string
	sums   []byte // 16 bytes per file
}

// NewKey starts a key for the named target. The first line is the cache
// format version, the second the target's name: two targets with the same
// definition still get their own records.
func NewKey(target string) *Key {
	k := &Key{target: target, lines: make([]Line, 0, 8)}
	k.Add("version", FormatVersion)
	k.Add("target", target)
	return k
}

// Add appends a labelled line. Values may be long (JSON definitions); the
// key hashes them whole.
func (k *Key) Add(label, value string) { k.lines = append(k.lines, Line{label, value}) }

// Set gives the line labelled label the value value, and says whether
// that changed it. It is for a value learnt only once the target has run
// (the ID of an image the run fetched); what Stored and the chunks kept
// is dropped, to be built again from the new value.
func (k *Key) Set(label, value string) bool {
	for i, l := range k.lines {
		if l.Label != label {
			continue
		}
		if l.Value == value {
			return false
		}
		k.lines[i].Value = value
		k.stored, k.tree = nil, nil
		return true
	}
	return false
}

// AddFiles appends one line per file, labelled prefix+rels[i], whose value
// is the hex of sums[16*i:16*i+16]. The key keeps the slices.
func (k *Key) AddFiles(prefix string, rels []string, sums []byte) {
	if len(rels) > 0 {
		k.files = append(k.files, fileRun{at: len(k.lines), prefix: prefix, rels: rels, sums: sums})
	}
}

// Each calls fn with every line in order, as added (secrets not masked);
// label and value are built in buffers that fn must not keep.
func (k *Key) Each(fn func(label, value []byte)) { k.each(0, k.Len(), fn) }

// each calls fn, as Each does, with lines from up to to (indexes in
// Each's order), skipping whole runs before from: a chunk's lines are
// encoded again without walking the lines before it.
func (k *Key) each(from, to int, fn func(label, value []byte)) {
	var label, value []byte
	at, next := 0, 0         // at: the index of k.lines[next] among all lines
	plain := func(end int) { // k.lines[next:end]
		if skip := min(from-at, end-next); skip > 0 {
			next, at = next+skip, at+skip
		}
		for ; next < end && at < to; next, at = next+1, at+1 {
			l := k.lines[next]
			label, value = append(label[:0], l.Label...), append(value[:0], l.Value...)
			fn(label, value)
		}
	}
	for _, r := range k.files {
		if plain(r.at); at >= to {
			return
		}
		i := max(from-at, 0)
		for ; i < len(r.rels) && at+i < to; i++ {
			label = append(append(label[:0], r.prefix...), r.rels[i]...)
			value = hex.AppendEncode(value[:0], r.sums[16*i:16*i+16])
			fn(label, value)
		}
		at += len(r.rels)
	}
	plain(len(k.lines))
}

// eachStored calls fn, as each does, with the lines as records keep them
// (Stored's), without building a string per line.
func (k *Key) eachStored(from, to int, fn func(label, value []byte)) {
	if k.Redact == nil {
		k.each(from, to, fn)
		return
	}
	var masked []byte
	k.each(from, to, func(label, value []byte) {
		// A view of value, not a copy: holdsSecret only compares it.
		if k.holdsSecret(arenaString(value)) {
			masked = append(masked[:0], secretMark(k.Secret, string(value))...)
			value = masked
		}
		fn(label, value)
	})
}

// Lines returns the lines added so far.
func (k *Key) Lines() []Line {
	if len(k.files) == 0 {
		return k.lines
	}
	return k.collect(k.each)
}

// collect builds the lines each calls fn with, all their strings in one
// allocation: two per line made building the lines of 100,000 files cost
// more than recording them.
func (k *Key) collect(each func(from, to int, fn func(label, value []byte))) []Line {
	n, size := k.Len(), 0
	each(0, n, func(label, value []byte) { size += len(label) + len(value) })
	arena := make([]byte, 0, size)
	out := make([]Line, 0, n)
	each(0, n, func(label, value []byte) {
		at := len(arena)
		arena = append(append(arena, label...), value...)
		mid := at + len(label)
		out = append(out, Line{Label: arenaString(arena[at:mid]), Value: arenaString(arena[mid:])})
	})
	return out
}

// arenaString is b as a string without a copy: the arena is never written
// again where a string points.
func arenaString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Len is the number of lines.
func (k *Key) Len() int {
	n := len(k.lines)
	for _, r := range k.files {
		n += len(r.rels)
	}
	return n
}

// Stored returns the lines as records keep them: a value holding a secret
// is replaced by a keyed hash of it, which still tells that it changed.
// A store writes a record from the key itself (Record.Source) without
// these strings; they are built for readers of whole lists (--explain).
func (k *Key) Stored() []Line {
	if k.stored == nil {
		k.stored = k.redacted()
	}
	return k.stored
}

func (k *Key) redacted() []Line {
	if k.Redact == nil {
		return k.Lines()
	}
	return k.collect(k.eachStored)
}

// holdsSecret says whether v holds a secret as written or, in a JSON
// definition, as one of its strings: JSON writes & < > " \ escaped, so a
// password holding one would not be found in the text.
func (k *Key) holdsSecret(v string) bool {
	if k.Redact(v) != v {
		return true
	}
	if !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, `"`) {
		return false
	}
	var doc any
	if json.Unmarshal([]byte(v), &doc) != nil {
		return false
	}
	return k.anySecret(doc)
}

func (k *Key) anySecret(doc any) bool {
	switch d := doc.(type) {
	case string:
		return k.Redact(d) != d
	case []any:
		for _, e := range d {
			if k.anySecret(e) {
				return true
			}
		}
	case map[string]any:
		for name, e := range d {
			if k.Redact(name) != name || k.anySecret(e) {
				return true
			}
		}
	}
	return false
}

// Sum returns the key: hex SHA-256 over every line, each label and value
// length-prefixed so that no two different line lists hash alike. With
// DTASK_DEBUG_HASH=1 it prints every line and the result to stderr.
func (k *Key) Sum() string {
	h := sha256.New()
	buf := make([]byte, 0, 32<<10)
	k.Each(func(label, value []byte) {
		buf = binary.AppendUvarint(buf, uint64(len(label)))
		buf = append(buf, label...)
		buf = binary.AppendUvarint(buf, uint64(len(value)))
		buf = append(buf, value...)
		if len(buf) >= 16<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	})
	h.Write(buf)
	sum := hex.EncodeToString(h.Sum(nil))
	if os.Getenv("DTASK_DEBUG_HASH") == "1" {
		k.debug(sum)
	}
	return sum
}

func (k *Key) debug(sum string) {
	var b strings.Builder
	for _, l := range k.Stored() {
		fmt.Fprintf(&b, "dtask-hash %s: %s %s\n", k.target, l.Label, debugValue(l.Value))
	}
	fmt.Fprintf(&b, "dtask-hash %s: key %s\n", k.target, sum)
	w := k.Debug
	if w == nil {
		w = os.Stderr
	}
	io.WriteString(w, b.String())
}

// debugValue keeps one line per key line: values with control characters
// are quoted.
func debugValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] == 0x7f {
			return strconv.Quote(v)
		}
	}
	return v
}
