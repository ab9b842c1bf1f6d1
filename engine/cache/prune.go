package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultMaxSize is cache.max_size when the task file sets none: the
// budget of the whole state folder.
const DefaultMaxSize = 1_000_000_000

// chunkGrace is how old an unreferenced chunk must be before pruning
// removes it: a concurrent Put may have just written or reused it for a
// record it has not written yet.
const chunkGrace = 10 * time.Minute

// Touch marks the record for key as used now, so that pruning keeps the
// records a project still hits (a branch switched back and forth).
func (s *Store) Touch(key string) {
	if validKey(key) && !s.inHeads(key, true) { // Prune keeps those anyway
		now := time.Now()
		_ = os.Chtimes(s.recordPath(key), now, now)
	}
}

// Pruned says what a Prune removed and what is left.
type Pruned struct {
	Records, Chunks int
	Attached        int   // files of Store.Attached folders
	Size            int64 // bytes left in the state folder
}

// Limits bound the state folder; a zero field sets no limit.
type Limits struct {
	MaxSize    int64 // bytes in the whole state folder
	MaxRecords int
	// Sweep removes unreferenced chunks and attached files even when the
	// folder is within the limits (--cache prune).
	Sweep bool
}

// Prune keeps the state folder within the limits, removing the least recently used
// records first, never a target's latest, then the chunks no record
// names. Records are small but one is written per key, and CI carries the
// folder from job to job: without this it only grows. The image cache
// (images/) counts towards maxSize but is pruned by its owner.
func (s *Store) Prune(lim Limits) Pruned {
	if size, ok := s.withinTally(lim); ok {
		return Pruned{Size: size}
	}
	s.wrote.bytes.Store(0) // the walk sees them
	s.wrote.records.Store(0)
	out := s.prune(lim)
	out.Size += tallyLen
	s.saveTally(tally{size: out.Size, records: out.left})
	return out.Pruned
}

// pruned is a Prune's result and the records it left.
type pruned struct {
	Pruned
	left int
}

func (s *Store) prune(lim Limits) pruned {
	recs, total := s.scan()
	left := len(recs)
	over := func() bool {
		return lim.MaxSize > 0 && total > lim.MaxSize || lim.MaxRecords > 0 && left > lim.MaxRecords
	}
	var out Pruned
	if !over() && !lim.Sweep {
		out.Size = total
		return pruned{out, left}
	}
	latest := s.latestKeys()
	slices.SortFunc(recs, func(a, b stateFile) int { return a.used.Compare(b.used) })
	kept := recs[:0]
	for _, r := range recs {
		key := strings.TrimSuffix(filepath.Base(r.path), ".rec")
		if !over() || latest[key] || s.inHeads(key, false) {
			kept = append(kept, r)
			continue
		}
		if os.Remove(r.path) == nil {
			out.Records++
			total -= r.size
			left--
		}
	}
	n, freed := s.pruneChunks(kept)
	a, afreed := s.pruneAttached(kept)
	out.Chunks, out.Attached, out.Size = n, a, total-freed-afreed
	return pruned{out, left}
}

type stateFile struct {
	path string
	size int64
	used time.Time
}

// scan lists the records and adds up the size of the whole state folder.
func (s *Store) scan() (recs []stateFile, total int64) {
	records := filepath.Join(s.dir, "records") + string(filepath.Separator)
	tally := s.tallyPath() // Prune adds it: it is written after the walk
	_ = filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == tally {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		total += info.Size()
		if strings.HasPrefix(p, records) && strings.HasSuffix(p, ".rec") {
			recs = append(recs, stateFile{p, info.Size(), info.ModTime()})
		}
		return nil
	})
	return recs, total
}

// pruneChunks removes the chunks and sets none of recs names (and older
// than chunkGrace). A set used within the grace period keeps what it
// names: a concurrent Put may have just reused it for a record it has not
// written yet, and touches only the set, not everything beneath it.
func (s *Store) pruneChunks(recs []stateFile) (removed int, freed int64) {
	live := map[string]bool{}
	eachRecord(recs, func(_ *recordHeader, text string) {
		_ = parseLines(new([]Line), text, func(name string, _ int, set bool) error {
			s.markLive(live, name, set, 0)
			return nil
		})
	})
	cutoff := time.Now().Add(-chunkGrace)
	sweep := func(folder string, fn func(p string, d fs.DirEntry, recent bool)) {
		_ = filepath.WalkDir(filepath.Join(s.dir, folder), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || live[d.Name()] {
				return nil
			}
			if info, err := d.Info(); err == nil {
				fn(p, d, info.ModTime().After(cutoff))
			}
			return nil
		})
	}
	sweep("sets", func(_ string, d fs.DirEntry, recent bool) {
		if recent {
			s.markLive(live, d.Name(), true, 0)
		}
	})
	remove := func(p string, d fs.DirEntry, recent bool) {
		info, err := d.Info()
		if recent || err != nil {
			return
		}
		if os.Remove(p) == nil {
			removed++
			freed += info.Size()
		}
	}
	sweep("sets", remove)
	sweep("chunks", remove)
	return removed, freed
}

// markLive adds a chunk, or a set and everything beneath it, to live. A
// damaged set keeps nothing beneath it: no record can be read through it.
func (s *Store) markLive(live map[string]bool, name string, set bool, depth int) {
	if live[name] || depth > maxLevels {
		return
	}
	live[name] = true
	if !set {
		return
	}
	data, err := s.chunkData(name, true)
	if err != nil {
		return
	}
	kids, _ := setRefs(data)
	for _, k := range kids {
		s.markLive(live, k.name, k.set, depth+1)
	}
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

// eachRecord calls fn with the header and lines of each readable record
// of recs; a damaged one is skipped, as a lookup would miss it.
func eachRecord(recs []stateFile, fn func(h *recordHeader, text string)) {
	for _, r := range recs {
		data, err := os.ReadFile(r.path)
		if err != nil {
			continue
		}
		if h, text, err := checkRecord(data); err == nil {
			fn(h, text)
		}
	}
}
