package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Touch marks the record for key as used now, so that pruning keeps the
// records a project still hits (a branch switched back and forth).
func (s *Store) Touch(key string) {
	if validKey(key) {
		now := time.Now()
		_ = os.Chtimes(s.recordPath(key), now, now)
	}
}

// PruneRecords removes the least recently used records beyond keep, never
// a target's latest. Records are small but one is written per key, and CI
// carries the folder from job to job: without this it only grows.
func (s *Store) PruneRecords(keep int) (removed int) {
	type rec struct {
		path string
		used time.Time
	}
	var all []rec
	root := filepath.Join(s.dir, "records")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rec") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			all = append(all, rec{p, info.ModTime()})
		}
		return nil
	})
	if len(all) <= keep {
		return 0
	}
	latest := s.latestKeys()
	slices.SortFunc(all, func(a, b rec) int { return b.used.Compare(a.used) })
	for _, r := range all[keep:] {
		if latest[strings.TrimSuffix(filepath.Base(r.path), ".rec")] {
			continue
		}
		if os.Remove(r.path) == nil {
			removed++
		}
	}
	return removed
}

// latestKeys are the keys the last/ pointers name.
func (s *Store) latestKeys() map[string]bool {
	keys := map[string]bool{}
	ents, _ := os.ReadDir(filepath.Join(s.dir, "last"))
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(s.dir, "last", e.Name())); err == nil {
			keys[strings.TrimSpace(string(b))] = true
		}
	}
	return keys
}
