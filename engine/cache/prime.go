package cache

import (
	"path/filepath"
	"slices"
	"time"
)

// A Glob through an Index hands the stats its walk took to that Index, so
// that the Hash calls that follow cost a lookup, not a system call. The
// walk compares each stat with the index as it goes and keeps only those
// the index did not match: an unchanged file costs a byte until it is
// hashed, not its stat. What a Glob left is used once; a new Glob of a folder replaces what an
// earlier one of that folder left unused. There is no time limit: a walk
// of many files may take longer than any limit, and a limit that ran out
// between the walk and the hashing doubled the stat work.

// primedStat is a stat a Glob took. Its mode is zero where it took none
// or Hash has used it: a file's mode has its type bits set.
type primedStat struct {
	st stat
}

func (p *primedStat) ok() bool { return p.st.mode != 0 }

// primedRun is what a walk left for a run of one folder's files: which
// of them the index held with the very stat the walk took (verified: the
// index's hash stands, and Hash needs no stat), and the stats of the
// others. stats is nil where every file was verified, so that an
// unchanged tree keeps a byte per file rather than a 40-byte stat.
type primedRun struct {
	verified []bool
	stats    []primedStat
}

func (r primedRun) slice(from, to int) primedRun {
	s := primedRun{verified: r.verified[from:to]}
	if r.stats != nil {
		s.stats = r.stats[from:to]
	}
	return s
}

// statRuns are what a Glob's walk left beside its list of files: a flag
// per file, and the runs of stats of the folders that keep them.
type statRuns struct {
	verified []bool // beside the list; cleared when used
	starts   []int  // where in the list each run's first file is
	runs     [][]primedStat
}

func (s *statRuns) add(at int, run primedRun) {
	s.verified = append(s.verified[:at], run.verified...)
	if run.stats != nil {
		s.starts = append(s.starts, at)
		s.runs = append(s.runs, run.stats)
	}
}

func (s *statRuns) empty() bool { return len(s.verified) == 0 }

// at returns the stat of the list's i-th file, or nil; *hint is the run
// the last call found, where lookups in list order find the next.
func (s *statRuns) at(i int, hint *int) *primedStat {
	r := *hint
	for _, c := range []int{r, r + 1} {
		if c < len(s.runs) && s.starts[c] <= i && i < s.starts[c]+len(s.runs[c]) {
			*hint = c
			return &s.runs[c][i-s.starts[c]]
		}
	}
	r, found := slices.BinarySearch(s.starts, i)
	if !found {
		r--
	}
	if r < 0 || i >= s.starts[r]+len(s.runs[r]) {
		return nil
	}
	*hint = r
	return &s.runs[r][i-s.starts[r]]
}

// primedList is one Glob's result: files (relative to dir, sorted) and
// their stats, taken after at.
type primedList struct {
	dir   string
	rels  []string
	stats statRuns
	at    time.Time
	next  int // where the next lookup most likely is
	run   int // the run of stats the last lookup found
}

// maxPrimed is how many Globs' stats an Index holds at once: targets plan
// in parallel, each with its own Glob.
const maxPrimed = 8

// Glob is the package's Glob, priming ix with the stats it took.
// Following events (Follow), it gives the files it listed before, as
// events since changed them.
func (ix *Index) Glob(dir string, patterns []string) ([]string, error) {
	out, epoch, ok := ix.recalled(dir, patterns)
	if ok {
		return out, nil
	}
	g := newGlobber(dir)
	if filepath.IsAbs(dir) && !ix.following() {
		// The index's paths are clean: so must be those verify builds.
		g.dir, g.verify = filepath.Clean(dir), ix.verify
	}
	if err := g.glob(patterns); err != nil {
		return nil, err
	}
	if !g.stats.empty() && filepath.IsAbs(dir) {
		ix.prime(&primedList{dir: filepath.Clean(dir), rels: g.out, stats: g.stats, at: g.start})
	}
	if filepath.IsAbs(dir) {
		ix.remember(dir, patterns, g, epoch)
	}
	return g.out, nil
}

func (ix *Index) prime(l *primedList) {
	ix.pmu.Lock()
	defer ix.pmu.Unlock()
	ix.primes = slices.DeleteFunc(ix.primes, func(o *primedList) bool {
		return o.dir == l.dir || o.next >= len(o.rels)
	})
	ix.primes = slices.Insert(ix.primes, 0, l)
	if len(ix.primes) > maxPrimed {
		ix.primes = ix.primes[:maxPrimed]
	}
}

// primed is what a Glob left for one file: verified, or a stat taken
// after at.
type primed struct {
	verified bool
	st       stat
	at       time.Time
}

// takePrimed returns, once, what a Glob left for abs.
func (ix *Index) takePrimed(abs string) (primed, bool) {
	ix.pmu.Lock()
	defer ix.pmu.Unlock()
	for _, l := range ix.primes {
		if len(abs) <= len(l.dir)+1 || abs[len(l.dir)] != '/' || abs[:len(l.dir)] != l.dir {
			continue
		}
		rel := abs[len(l.dir)+1:]
		i := l.next
		if i >= len(l.rels) || l.rels[i] != rel {
			var found bool
			if i, found = slices.BinarySearch(l.rels, rel); !found {
				continue
			}
		}
		var p primed
		if i < len(l.stats.verified) && l.stats.verified[i] {
			l.stats.verified[i] = false // used
			p.verified = true
		} else if st := l.stats.at(i, &l.run); st != nil && st.ok() {
			p.st, p.at = st.st, l.at
			st.st.mode = 0 // used
		} else {
			continue
		}
		l.next = i + 1
		ix.primedHits.Add(1)
		return p, true
	}
	return primed{}, false
}
