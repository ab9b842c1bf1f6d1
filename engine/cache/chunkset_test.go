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

// filesIn lists the files under dir/folder.
func filesIn(dir, folder string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(dir, folder), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A record of 60,000 sources keeps a few dozen references to sets; an edit
// writes one chunk, one set and the record, and reads back whole.
func TestRecordSetsEditWritesLittle(t *testing.T) {
	s := openStore(t)
	first := manySources("t", 60000, -1)
	mustPut(t, s, first)
	if n := len(filesIn(s.Dir(), "sets")); n < 2 {
		t.Fatalf("%d sets for 60,000 lines", n)
	}
	rec, _ := os.ReadFile(s.recordPath(first.Key))
	if len(rec) > 4<<10 {
		t.Errorf("record of 60,000 lines is %d bytes", len(rec))
	}
	for e := range 5 {
		before := dirSize(t, s.Dir())
		cur := manySources("t", 60000, 7919*(e+1))
		why, ok := s.Why("t", cur.lineKey())
		if want := Diff(first.Lines, cur.Lines); e == 0 && (!ok || fmt.Sprint(why) != fmt.Sprint(want)) {
			t.Errorf("Why = %q, Diff = %q", why, want)
		}
		mustPut(t, s, cur)
		if grown := dirSize(t, s.Dir()) - before; grown > 48<<10 {
			t.Errorf("edit %d grew the store by %d bytes", e, grown)
		}
		got, ok := s.Get(cur.Key)
		if !ok || !reflect.DeepEqual(got, cur) {
			t.Fatalf("round trip of edit %d failed (hit %v)", e, ok)
		}
	}
	// The same list again writes nothing but its record.
	before := len(filesIn(s.Dir(), "chunks")) + len(filesIn(s.Dir(), "sets"))
	same := manySources("t", 60000, 7919)
	same.Time = time.Unix(2, 0).UTC()
	mustPut(t, s, same)
	if after := len(filesIn(s.Dir(), "chunks")) + len(filesIn(s.Dir(), "sets")); after != before {
		t.Errorf("an unchanged list added %d chunks or sets", after-before)
	}
}

// A damaged or missing set makes its record a miss, and the next success
// stores it again.
func TestRecordDamagedSet(t *testing.T) {
	for name, damage := range map[string]func(string){
		"damaged": func(p string) { os.WriteFile(p, []byte("@@"+filepath.Base(p)+"\t1\n"), 0o600) },
		"missing": func(p string) { os.Remove(p) },
		"lines":   func(p string) { os.WriteFile(p, []byte("src x\tdamaged\n"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			rec := manySources("t", 30000, -1)
			mustPut(t, s, rec)
			sets := filesIn(s.Dir(), "sets")
			if len(sets) == 0 {
				t.Fatal("no sets")
			}
			damage(sets[0])
			if _, ok := s.Get(rec.Key); ok {
				t.Error("hit with a damaged set")
			}
			// The miss removed the damaged set: the next success writes it
			// again.
			mustPut(t, s, manySources("t", 30000, 5))
			if _, ok := s.Get(manySources("t", 30000, 5).Key); !ok {
				t.Error("miss after a fresh Put")
			}
		})
	}
}

// Pruning keeps the chunks a kept record names through its sets, and
// those beneath a set a concurrent Put has just reused.
func TestPruneFollowsSets(t *testing.T) {
	s := openStore(t)
	old := time.Now().Add(-time.Hour)
	a := manySources("a", 30000, -1)
	b := manySources("b", 30000, 3)
	b.Lines[5].Value = "other" // b shares little with a
	for i := 7; i < len(b.Lines); i += 50 {
		b.Lines[i].Value = fmt.Sprintf("%032x", i+1<<40)
	}
	for _, r := range []*Record{a, b} {
		mustPut(t, s, r)
	}
	for _, f := range append(filesIn(s.Dir(), "chunks"), filesIn(s.Dir(), "sets")...) {
		os.Chtimes(f, old, old)
	}
	os.Remove(s.recordPath(b.Key))
	s.Prune(Limits{Sweep: true})
	if _, ok := s.Get(a.Key); !ok {
		t.Fatal("pruning lost a kept record's chunks")
	}
	// b's sets are gone; a's are kept. Reuse one of a's sets by a Put of
	// the same list, drop the record, and prune: the set just used keeps
	// its chunks.
	os.Remove(s.recordPath(a.Key))
	for _, f := range append(filesIn(s.Dir(), "chunks"), filesIn(s.Dir(), "sets")...) {
		os.Chtimes(f, old, old)
	}
	for _, c := range chunkTree(a.lineKey()) {
		if err := s.putChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	s.Prune(Limits{Sweep: true})
	if err := s.writeIn(s.recordPath(a.Key), mustEncode(t, s, a)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(a.Key); !ok {
		t.Error("pruning removed the chunks beneath a set used within the grace period")
	}
}

func mustEncode(t *testing.T, s *Store, r *Record) []byte {
	data, err := s.encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A damaged chunk beneath an intact set is a miss once, then stored again.
func TestRecordDamagedChunkBeneathSet(t *testing.T) {
	s := openStore(t)
	rec := manySources("t", 30000, -1)
	mustPut(t, s, rec)
	chunks := filesIn(s.Dir(), "chunks")
	os.WriteFile(chunks[len(chunks)/2], []byte("src x\tdamaged\n"), 0o600)
	if _, ok := s.Get(rec.Key); ok {
		t.Fatal("hit with damaged chunks")
	}
	mustPut(t, s, rec)
	if _, ok := s.Get(rec.Key); !ok {
		t.Error("still a miss after the target ran again")
	}
}
