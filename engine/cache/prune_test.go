package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneRecordsKeepsRecentAndLatest(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return fmt.Sprintf("%064x", i+1) }
	old := time.Now().Add(-time.Hour)
	for i := range 10 {
		mustPut(t, s, &Record{Target: fmt.Sprintf("t%d", i%2), Key: key(i)})
		// Older keys were used longer ago.
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(s.recordPath(key(i)), at, at)
	}
	s.Touch(key(0)) // used just now: kept
	if n := s.Prune(Limits{MaxRecords: 4}).Records; n != 6 {
		t.Errorf("removed %d, want 6", n)
	}
	for i, want := range map[int]bool{0: true, 9: true, 8: true, 7: true, 1: false, 2: false, 5: false} {
		_, err := os.Stat(s.recordPath(key(i)))
		if (err == nil) != want {
			t.Errorf("record %d kept = %v, want %v", i, err == nil, want)
		}
	}
	// The latest of each target (t0: key 8, t1: key 9) is never pruned.
	if n := s.Prune(Limits{MaxRecords: 1}).Records; n != 2 {
		t.Errorf("second prune removed %d, want 2 (keys 0 and 7)", n)
	}
	for _, tg := range []string{"t0", "t1"} {
		if _, ok := s.Last(tg); !ok {
			t.Errorf("latest record of %s was pruned", tg)
		}
	}
	if _, err := os.Stat(filepath.Join(s.dir, "records")); err != nil {
		t.Fatal(err)
	}
}
