package watchrun

import (
	"bytes"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/dtask-dev/dtask/engine"
)

// watchIgnore leaves out .git and .dtask folders anywhere, and the state
// folder wherever cache_dir puts it.
func watchIgnore(state string) func(string) bool {
	return func(path string) bool {
		if path == state || strings.HasPrefix(path, state+string(filepath.Separator)) {
			return true
		}
		for _, part := range strings.Split(path, string(filepath.Separator)) {
			if part == ".git" || part == ".dtask" {
				return true
			}
		}
		return false
	}
}

// learn keeps, per target, the content hashes the run just planned it on,
// pass or fail, and gives the detector the baseline later events compare
// to: so undoing a breaking edit runs again, and a touch after a failure
// does not. Targets the run never planned keep what they had. Only the
// hashes that differ are stored: after one edit of a large tree, one,
// found by comparing the key with the one learned last, not every line.
func (s *session) learn(results []*engine.Result) {
	if s.learned == nil {
		s.learned = map[string]*engine.Result{}
	}
	var buf []byte
	for _, res := range results {
		if res.Key == "" {
			continue // never planned: keep what it had
		}
		prev := s.learned[res.Target]
		s.learned[res.Target] = res
		res.EachLineSince(prev, func(label, value []byte) {
			rel, ok := bytes.CutPrefix(label, []byte("src "))
			if !ok {
				return
			}
			buf = sourcePath(buf[:0], s.p.File.Dir, rel)
			// The lookup keeps no reference to buf.
			if old, ok := s.det.Known(unsafe.String(unsafe.SliceData(buf), len(buf))); !ok || old != string(value) {
				s.det.Learn(string(buf), string(value))
			}
		})
	}
}

// sourcePath appends to buf the absolute path of a key line's file,
// relative to dir: a plain join for the clean paths of globs, Join for
// the rest ("../x").
func sourcePath(buf []byte, dir string, rel []byte) []byte {
	if bytes.HasPrefix(rel, []byte("../")) || bytes.Contains(rel, []byte("/.")) || string(rel) == ".." {
		return append(buf, filepath.Join(dir, filepath.FromSlash(string(rel)))...)
	}
	buf = append(append(buf, dir...), filepath.Separator)
	return append(buf, filepath.FromSlash(string(rel))...)
}
