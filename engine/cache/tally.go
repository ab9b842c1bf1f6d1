package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// tallyRescan is how many runs in a row may trust the tally before a
// Prune walks the state folder again: what the tally does not see (the
// index, the image cache) is caught within that many runs.
const tallyRescan = 32

// tally is what the last walk of the state folder found, plus what this
// store's writes added since: a Prune within the limits by a clear margin
// need not walk the folder (about 2,000 files after a few hundred runs
// at 100,000 files, the largest cost of a one-edit run after hashing).
type tally struct {
	size    int64 // bytes in the state folder
	records int
	runs    int // Prunes since the last walk
}

// writes counts what a Store wrote since its last Prune.
type writes struct {
	bytes   atomic.Int64
	records atomic.Int64
}

func (s *Store) tallyPath() string { return filepath.Join(s.dir, "tally") }

// tallyFormat has fixed widths, so that the tally's own size is known
// before it is written: the size it records includes itself.
const tallyFormat = "dtask-tally 1 %019d %010d %04d\n"

// tallyLen is the length of every tally (TestTallyLen checks it).
const tallyLen = 50

// loadTally reads the tally; a missing or damaged one is not there, and
// the next Prune walks the folder.
func (s *Store) loadTally() (tally, bool) {
	var t tally
	b, err := os.ReadFile(s.tallyPath())
	if err != nil {
		return t, false
	}
	n, err := fmt.Sscanf(string(b), tallyFormat, &t.size, &t.records, &t.runs)
	return t, err == nil && n == 3 && t.size >= 0 && t.records >= 0 && t.runs >= 0
}

func (s *Store) saveTally(t tally) {
	// Only a speed-up: losing it costs one walk.
	_ = writeAtomic(s.tallyPath(), fmt.Appendf(nil, tallyFormat, t.size, t.records, t.runs))
}

// withinTally reports whether lim holds by a clear margin by the tally
// and this store's writes, and if so counts the run in the tally. It
// errs towards a walk: only 90% of MaxSize counts as room.
func (s *Store) withinTally(lim Limits) (int64, bool) {
	t, ok := s.loadTally()
	if !ok || lim.Sweep || t.runs+1 >= tallyRescan {
		return 0, false
	}
	t.size += s.wrote.bytes.Swap(0)
	t.records += int(s.wrote.records.Swap(0))
	t.runs++
	if lim.MaxSize > 0 && t.size > lim.MaxSize/10*9 || lim.MaxRecords > 0 && t.records > lim.MaxRecords {
		return 0, false
	}
	s.saveTally(t)
	return t.size, true
}
