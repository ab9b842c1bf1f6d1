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
)

// Key collects labelled lines and hashes them into a key.
type Key struct {
	target string
	lines  []Line
	// Redact, when set, masks secret values (it returns its argument
	// changed when that holds a secret). The key hashes the real values;
	// what is stored or printed holds only a hash of them, keyed with
	// Secret (the store's SecretKey).
	Redact func(string) string
	Secret []byte
	// Debug receives the DTASK_DEBUG_HASH output; nil: stderr.
	Debug io.Writer
}

// NewKey starts a key for the named target. The first line is the cache
// format version, the second the target's name: two targets with the same
// definition still get their own records.
func NewKey(target string) *Key {
	k := &Key{target: target, lines: make([]Line, 0, 16)}
	k.Add("version", FormatVersion)
	k.Add("target", target)
	return k
}

// Add appends a labelled line. Values may be long (JSON definitions); the
// key hashes them whole.
func (k *Key) Add(label, value string) { k.lines = append(k.lines, Line{label, value}) }

// Lines returns the lines added so far.
func (k *Key) Lines() []Line { return k.lines }

// Stored returns the lines as records keep them: a value holding a secret
// is replaced by a keyed hash of it, which still tells that it changed.
func (k *Key) Stored() []Line {
	if k.Redact == nil {
		return k.lines
	}
	out := make([]Line, len(k.lines))
	for i, l := range k.lines {
		if k.holdsSecret(l.Value) {
			l.Value = secretMark(k.Secret, l.Value)
		}
		out[i] = l
	}
	return out
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
	for _, l := range k.lines {
		buf = binary.AppendUvarint(buf, uint64(len(l.Label)))
		buf = append(buf, l.Label...)
		buf = binary.AppendUvarint(buf, uint64(len(l.Value)))
		buf = append(buf, l.Value...)
		if len(buf) >= 16<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
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
