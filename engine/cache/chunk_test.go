package cache

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func manySources(target string, n, edited int) *Record {
	k := NewKey(target)
	k.Add("kind", "sh")
	for i := range n {
		v := fmt.Sprintf("%032x", i)
		if i == edited {
			v = fmt.Sprintf("%032x", -i-1)
		}
		k.Add(fmt.Sprintf("src src/d%d/f%d.go", i/100, i), v)
	}
	return &Record{Target: target, Kind: "sh", Key: k.Sum(), Time: time.Unix(1, 0).UTC(), Lines: k.Lines()}
}

func dirSize(t testing.TB, dir string) int64 {
	var n int64
	for _, p := range filesIn(dir, ".") {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// The records of successive edits share their file lists: one edit adds
// a few kilobytes, not a copy of every line.
func TestRecordsShareChunks(t *testing.T) {
	s := openStore(t)
	first := manySources("t", 10000, -1)
	mustPut(t, s, first)
	before := dirSize(t, s.Dir())
	var recs []*Record
	for e := range 20 {
		rec := manySources("t", 10000, e*487)
		mustPut(t, s, rec)
		recs = append(recs, rec)
	}
	grown := (dirSize(t, s.Dir()) - before) / 20
	if grown > 32<<10 {
		t.Errorf("an edit of one line in 10,000 grew the store by %d bytes", grown)
	}
	for _, rec := range append(recs, first) {
		got, ok := s.Get(rec.Key)
		if !ok || !reflect.DeepEqual(got, rec) {
			t.Fatalf("round trip of %s failed (hit %v)", rec.Key[:8], ok)
		}
		if h, ok := s.Hit(rec.Key); !ok || h.Lines != nil || h.Target != "t" {
			t.Fatalf("Hit of %s: %v %v", rec.Key[:8], h, ok)
		}
	}
	t.Logf("record of 10,000 sources: %d bytes in the store; each edit adds %d", before, grown)
}

// A record whose chunk is gone or damaged is a miss, never an error.
func TestRecordMissingChunk(t *testing.T) {
	s := openStore(t)
	rec := manySources("t", 1000, -1)
	mustPut(t, s, rec)
	chunks := filesIn(s.Dir(), "chunks")
	if len(chunks) < 2 {
		t.Fatalf("%d chunks for 1,000 lines", len(chunks))
	}
	os.WriteFile(chunks[1], []byte("src x\tdamaged\n"), 0o600)
	if _, ok := s.Get(rec.Key); ok {
		t.Error("hit with a damaged chunk")
	}
	os.Remove(chunks[1])
	if _, ok := s.Get(rec.Key); ok {
		t.Error("hit with a missing chunk")
	}
	if _, ok := s.Last("t"); ok {
		t.Error("Last hit with a missing chunk")
	}
}

// Prune keeps the folder within its size, least recently used records
// first, and removes the chunks only they named.
func TestPruneBySize(t *testing.T) {
	s := openStore(t)
	old := time.Now().Add(-time.Hour)
	var keys []string
	for i := range 30 {
		rec := manySources(fmt.Sprintf("t%d", i%3), 2000, i)
		rec.Lines[0].Value = fmt.Sprint(i) // every chunk differs a little
		for j := 2; j < len(rec.Lines); j += 97 {
			rec.Lines[j].Value = fmt.Sprintf("%032x", i*100000+j)
		}
		mustPut(t, s, rec)
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(s.recordPath(rec.Key), at, at)
		keys = append(keys, rec.Key)
	}
	// Chunks written just now are within their grace period: age them.
	filepath.WalkDir(filepath.Join(s.Dir(), "chunks"), func(p string, d fs.DirEntry, err error) error {
		os.Chtimes(p, old, old)
		return nil
	})
	full := dirSize(t, s.Dir())
	budget := full / 3
	pr := s.Prune(Limits{MaxSize: budget})
	if got := dirSize(t, s.Dir()); got > budget || got != pr.Size {
		t.Errorf("after pruning to %d: %d on disk, Prune says %d", budget, got, pr.Size)
	}
	if pr.Records == 0 || pr.Chunks == 0 {
		t.Errorf("pruned %+v", pr)
	}
	for i, k := range keys {
		_, ok := s.Get(k)
		if latest := i >= 27; latest && !ok {
			t.Errorf("latest record %d was pruned", i)
		}
		if i == 0 && ok {
			t.Error("the oldest record survived")
		}
	}
}

// Why, reading only the chunks that differ, says what Diff says over all
// the lines.
func TestWhyMatchesDiff(t *testing.T) {
	s := openStore(t)
	prev := manySources("t", 5000, -1)
	mustPut(t, s, prev)
	cases := map[string]*Record{
		"one edit": manySources("t", 5000, 1234),
		"a file less": func() *Record {
			r := manySources("t", 5000, -1)
			r.Lines = append(r.Lines[:100], r.Lines[101:]...)
			return r
		}(),
		"a file more": manySources("t", 5001, -1),
		"small":       manySources("t", 10, -1),
		"same":        manySources("t", 5000, -1),
	}
	for name, cur := range cases {
		got, ok := s.Why("t", cur.lineKey())
		want := Diff(prev.Lines, cur.Lines)
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: Why = %q (%v), Diff = %q", name, got, ok, want)
		}
	}
	if _, ok := s.Why("other", prev.lineKey()); ok {
		t.Error("Why for a target never run")
	}
}
