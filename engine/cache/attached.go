package cache

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Attached is a folder under the store whose files records' outputs name
// (a run target's reports): the outputs whose key starts with Prefix name
// a file in Dir by its base name. Prune removes the files no record names
// any more, so they go with their records.
type Attached struct {
	Dir    string // relative to the store's folder
	Prefix string
}

// pruneAttached removes the attached files none of recs names, older than
// chunkGrace (a concurrent run may have stored one it has not recorded yet).
func (s *Store) pruneAttached(recs []stateFile) (removed int, freed int64) {
	if len(s.Attached) == 0 {
		return 0, 0
	}
	live := map[string]bool{}
	eachRecord(recs, func(h *recordHeader, _ string) {
		for k, v := range h.Outputs {
			for _, a := range s.Attached {
				if strings.HasPrefix(k, a.Prefix) {
					live[filepath.Join(a.Dir, filepath.Base(v))] = true
				}
			}
		}
	})
	cutoff := time.Now().Add(-chunkGrace)
	for _, a := range s.Attached {
		ents, _ := os.ReadDir(filepath.Join(s.dir, a.Dir))
		for _, e := range ents {
			info, err := e.Info()
			if err != nil || e.IsDir() || live[filepath.Join(a.Dir, e.Name())] || info.ModTime().After(cutoff) {
				continue
			}
			if os.Remove(filepath.Join(s.dir, a.Dir, e.Name())) == nil {
				removed++
				freed += info.Size()
			}
		}
	}
	return removed, freed
}
