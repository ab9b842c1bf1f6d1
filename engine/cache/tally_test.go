package cache

import (
	"fmt"
	"os"
	"testing"
)

func tallyKey(i int) string { return fmt.Sprintf("%064x", i+1) }

func putRecords(t *testing.T, s *Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		mustPut(t, s, &Record{Target: "t", Key: tallyKey(i)})
	}
}

// A Prune within the limits by the tally trusts it; what this store wrote
// counts at once, what it cannot see is caught within tallyRescan runs.
func TestPruneTrustsTheTallyWithinBounds(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	putRecords(t, s, 0, 3)
	lim := Limits{MaxRecords: 4}
	if p := s.Prune(lim); p.Records != 0 || p.Size == 0 {
		t.Fatalf("first prune: %+v", p)
	}
	// Another process writes three more records: unseen by the tally.
	other, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	putRecords(t, other, 3, 6)
	if p := s.Prune(lim); p.Records != 0 {
		t.Fatalf("a prune within the tally walked the folder: %+v", p)
	}
	// Records this store writes count: over the limit, so it walks.
	s2, _ := OpenStore(dir)
	putRecords(t, s2, 6, 8) // the tally knows 3, so 5 > 4
	if p := s2.Prune(lim); p.Records == 0 {
		t.Fatalf("a put past the limit did not prune: %+v", p)
	}
	// Unseen growth is caught within tallyRescan prunes.
	putRecords(t, other, 8, 13)
	walked := false
	for range tallyRescan {
		s3, _ := OpenStore(dir)
		if s3.Prune(lim).Records > 0 {
			walked = true
			break
		}
	}
	if !walked {
		t.Fatalf("no walk within %d prunes", tallyRescan)
	}
}

func TestPruneWalksOnADamagedTally(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	putRecords(t, s, 0, 6)
	if err := os.WriteFile(s.tallyPath(), []byte(fmt.Sprintf(tallyFormat, 10, 0, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The tally says 0 records, but 6 (this store's) were written: walks.
	if p := s.Prune(Limits{MaxRecords: 4}); p.Records == 0 {
		t.Fatalf("prune trusted a tally that undercounts its own writes: %+v", p)
	}
	for _, bad := range []string{"", "garbage\n", "dtask-tally 1 -5 0 0\n", fmt.Sprintf(tallyFormat, 1, 1, 1)[:20]} {
		os.WriteFile(s.tallyPath(), []byte(bad), 0o600)
		if _, ok := s.loadTally(); ok {
			t.Errorf("tally %q accepted", bad)
		}
	}
}

func TestTallyLen(t *testing.T) {
	for _, n := range []int64{0, 1 << 40} {
		if got := len(fmt.Sprintf(tallyFormat, n, n%1e9, 9999)); got != tallyLen {
			t.Errorf("tally of %d is %d bytes, tallyLen is %d", n, got, tallyLen)
		}
	}
}
