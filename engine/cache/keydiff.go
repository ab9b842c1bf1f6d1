package cache

import (
	"bytes"
	"encoding/hex"
)

// DiffFrom explains, as Diff does, how k differs from old, an earlier key
// of the same target held in memory (watch mode's previous run). When
// both list the same files it compares their sums, 16 bytes a file, and
// builds no line: an edit among 100,000 files words one reason without
// reading the record's chunks or building 200,000 strings.
func (k *Key) DiffFrom(old *Key) []string {
	if !sameFiles(old, k) {
		return Diff(old.Lines(), k.Lines())
	}
	before := make(map[string]string, len(old.lines))
	for _, l := range old.lines {
		before[l.Label] = l.Value
	}
	seen := make(map[string]bool, len(k.lines))
	var why []string
	line := func(l Line) {
		seen[l.Label] = true
		if v, ok := before[l.Label]; !ok {
			why = append(why, reason(l.Label, "added"))
		} else if v != l.Value {
			why = append(why, reason(l.Label, changedHow(l)))
		}
	}
	next := 0
	for ri, r := range k.files {
		for ; next < r.at; next++ {
			line(k.lines[next])
		}
		why = appendChangedFiles(why, r, old.files[ri].sums)
	}
	for ; next < len(k.lines); next++ {
		line(k.lines[next])
	}
	for _, l := range old.lines {
		if !seen[l.Label] {
			seen[l.Label] = true
			why = append(why, reason(l.Label, "removed"))
		}
	}
	return joinDefs(why)
}

// appendChangedFiles adds a reason for each file of r whose sum differs
// from old's.
func appendChangedFiles(why []string, r fileRun, old []byte) []string {
	if bytes.Equal(r.sums, old) {
		return why
	}
	for i, rel := range r.rels {
		if !bytes.Equal(r.sums[16*i:16*i+16], old[16*i:16*i+16]) {
			why = append(why, reason(r.prefix+rel, "changed"))
		}
	}
	return why
}

// sameFiles says whether a and b have file runs at the same places, with
// the same labels: then they differ at most in the files' sums.
func sameFiles(a, b *Key) bool {
	if len(a.files) != len(b.files) || len(a.lines) != len(b.lines) {
		return false
	}
	for i, ra := range a.files {
		rb := b.files[i]
		if ra.at != rb.at || ra.prefix != rb.prefix || len(ra.rels) != len(rb.rels) || len(ra.sums) != len(rb.sums) {
			return false
		}
		if len(ra.rels) > 0 && &ra.rels[0] == &rb.rels[0] {
			continue // the same kept list
		}
		for j := range ra.rels {
			if ra.rels[j] != rb.rels[j] {
				return false
			}
		}
	}
	return true
}

// Value returns the value of the line labelled label among those added
// with Add (not the files').
func (k *Key) Value(label string) (string, bool) {
	for _, l := range k.lines {
		if l.Label == label {
			return l.Value, true
		}
	}
	return "", false
}

// EachSince calls fn, as Each does, with the lines of k that may differ
// from old's: every line added with Add, and of the files those whose sum
// differs, when both list the same files; else every line.
func (k *Key) EachSince(old *Key, fn func(label, value []byte)) {
	if old == nil || !sameFiles(old, k) {
		k.Each(fn)
		return
	}
	var label, value []byte
	for _, l := range k.lines {
		fn(append(label[:0], l.Label...), append(value[:0], l.Value...))
	}
	for ri, r := range k.files {
		prev := old.files[ri].sums
		if bytes.Equal(r.sums, prev) {
			continue
		}
		for i, rel := range r.rels {
			if !bytes.Equal(r.sums[16*i:16*i+16], prev[16*i:16*i+16]) {
				label = append(append(label[:0], r.prefix...), rel...)
				fn(label, hex.AppendEncode(value[:0], r.sums[16*i:16*i+16]))
			}
		}
	}
}
