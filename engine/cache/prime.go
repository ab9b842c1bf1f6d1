package cache

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// primeTTL is how long stats a Glob took stand in for Hash's own: long
// enough for the Hash calls that follow it, short enough that watch mode
// never sees an old one.
const primeTTL = 2 * time.Second

// primedStat is a stat a Glob took; ok is false where it took none or Hash
// has used it.
type primedStat struct {
	st stat
	ok bool
}

// primedList is one Glob's result: files (relative to dir, sorted) and
// their stats, taken after at.
type primedList struct {
	dir   string
	rels  []string
	stats []primedStat
	at    time.Time
	next  int // where the next lookup most likely is
}

// primedHits counts stats taken from a Glob; tests read it.
var primedHits atomic.Int64

var primes struct {
	sync.Mutex
	lists []*primedList // newest first
}

func prime(l *primedList) {
	primes.Lock()
	defer primes.Unlock()
	primes.lists = slices.Insert(primes.lists, 0, l)
	primes.lists = slices.DeleteFunc(primes.lists, func(l *primedList) bool {
		return time.Since(l.at) > primeTTL || l.next >= len(l.rels)
	})
	if len(primes.lists) > 8 {
		primes.lists = primes.lists[:8]
	}
}

// takePrimed returns, once, the stat a recent Glob took of abs and the
// time before it was taken.
func takePrimed(abs string) (stat, time.Time, bool) {
	primes.Lock()
	defer primes.Unlock()
	for _, l := range primes.lists {
		if len(abs) <= len(l.dir)+1 || abs[len(l.dir)] != '/' || abs[:len(l.dir)] != l.dir {
			continue
		}
		if time.Since(l.at) > primeTTL {
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
		p := &l.stats[i]
		if !p.ok {
			continue
		}
		p.ok = false
		l.next = i + 1
		primedHits.Add(1)
		return p.st, l.at, true
	}
	return stat{}, time.Time{}, false
}
