package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Lost stands in a batch for events the kernel dropped (its queue
// overflowed): anything may have changed.
const Lost = ""

// Detector tells a real change from a save without an edit, a touch or a
// chmod: it keeps the content hash each source had when it was last run
// and re-hashes only the files events name.
type Detector struct {
	hash  func(abs string) (string, error)
	known map[string]string // abs path → content hash as last run
}

// NewDetector uses hash (the stat index's) to hash files.
func NewDetector(hash func(abs string) (string, error)) *Detector {
	return &Detector{hash: hash, known: map[string]string{}}
}

// Learn records the hash a run used for the file at abs.
func (d *Detector) Learn(abs, sum string) { d.known[abs] = sum }

// Len is how many files the detector knows.
func (d *Detector) Len() int { return len(d.known) }

// Changed returns, sorted, the paths among batch whose content differs
// from what was last run: edited, new (when relevant says the file is a
// source) or removed. It remembers the new hashes, so the same change is
// reported once.
func (d *Detector) Changed(batch []string, relevant func(abs string) bool) []string {
	var out []string
	for _, p := range batch {
		if p == Lost {
			out = append(out, "(events lost: the kernel's queue overflowed)")
			continue
		}
		if d.changed(p, relevant) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (d *Detector) changed(p string, relevant func(string) bool) bool {
	old, known := d.known[p]
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && fi.IsDir():
		// Gone, or a folder: what was known at or under p is removed or
		// was moved away (a folder's own events say nothing about its files).
		return d.forget(p, known)
	case err != nil:
		return known || relevant(p)
	case !fi.Mode().IsRegular():
		return false
	}
	if !known && !relevant(p) {
		return false
	}
	sum, err := d.hash(p)
	if err != nil {
		// Unreadable now (mid-write, say): a change only if it was a source.
		return known
	}
	if known && sum == old {
		return false
	}
	d.known[p] = sum
	return true
}

// forget drops p and, if it was a folder, the known files under it, and
// reports whether any of them existed no more.
func (d *Detector) forget(p string, known bool) bool {
	gone := false
	if known {
		if _, err := os.Lstat(p); err != nil {
			delete(d.known, p)
			gone = true
		}
	}
	prefix := p + string(filepath.Separator)
	for k := range d.known {
		if strings.HasPrefix(k, prefix) {
			if _, err := os.Lstat(k); err != nil {
				delete(d.known, k)
				gone = true
			}
		}
	}
	return gone
}

// Known returns the hash the file at abs was last run with.
func (d *Detector) Known(abs string) (string, bool) {
	sum, ok := d.known[abs]
	return sum, ok
}
