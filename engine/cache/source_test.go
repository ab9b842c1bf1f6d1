package cache

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fileKey is a key as the engine builds it: plain lines between runs of
// files, two runs side by side, n files in all. Sum i is i, but for the
// file edited; a secret hides in a definition line and in one file's sum.
func fileKey(s *Store, n, edited int) *Key {
	const secret = "deadbeef"
	k := NewKey("t")
	k.Redact = func(v string) string { return strings.ReplaceAll(v, secret, "***") }
	k.Secret = s.SecretKey()
	k.Add("kind", "sh")
	k.Add("def.sh", `["deploy --token deadbeef"]`)
	half := n / 2
	for i, part := range [][2]int{{0, half}, {half, n}} {
		var rels []string
		var sums []byte
		for f := part[0]; f < part[1]; f++ {
			rels = append(rels, fmt.Sprintf("d%d/f%d.go", f/100, f))
			sum := fmt.Sprintf("%032x", f)
			switch f {
			case edited:
				sum = fmt.Sprintf("%032x", f+1<<40)
			case 7:
				sum = "00000000" + secret + "0000000000000000"
			}
			b, _ := hex.DecodeString(sum)
			sums = append(sums, b...)
		}
		k.AddFiles(fmt.Sprintf("src root%d/", i), rels, sums)
		if i == 0 {
			k.Add("env.X", "1")
		}
	}
	k.Add("dep lib", "feedface")
	return k
}

// each(from, to) gives what Lines gives from from to to, whatever runs
// the bounds fall in.
func TestKeyEachRange(t *testing.T) {
	k := fileKey(openStore(t), 6, -1)
	k.Redact = nil
	all := k.Lines()
	for from := 0; from <= len(all); from++ {
		for to := from; to <= len(all); to++ {
			var got []Line
			k.each(from, to, func(label, value []byte) { got = append(got, Line{string(label), string(value)}) })
			if want := all[from:to]; len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("each(%d, %d) = %q, want %q", from, to, got, want)
			}
		}
	}
}

// A record written from its key (Source) is the record written from the
// key's stored lines, byte for byte and chunk for chunk, secrets masked
// in file lines too; Why from the key says what Diff says.
func TestRecordFromSourceAsFromLines(t *testing.T) {
	for _, n := range []int{40, 12000} {
		a, b := openStore(t), openStore(t)
		b.key = a.SecretKey() // the same masks
		b.keyOnce.Do(func() {})
		prev := fileKey(a, n, -1)
		prevLines := prev.Stored()
		if !strings.HasPrefix(prevLines[3].Value, "#secret:") || !strings.HasPrefix(prevLines[4+7].Value, "#secret:") {
			t.Fatalf("secrets not masked: %q %q", prevLines[3], prevLines[4+7])
		}
		for _, st := range []*Store{a, b} {
			if err := st.Put(&Record{Target: "t", Key: prev.Sum(), Lines: prevLines}); err != nil {
				t.Fatal(err)
			}
		}
		cur := fileKey(a, n, n-3)
		want := Diff(prevLines, cur.Stored())
		fresh := fileKey(a, n, n-3) // nothing built from its lines yet
		if got, ok := a.Why("t", fresh); !ok || fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 1 {
			t.Errorf("%d files: Why = %q, %v; Diff = %q", n, got, ok, want)
		}
		at := time.Unix(5, 0).UTC()
		if err := a.Put(&Record{Target: "t", Key: fresh.Sum(), Time: at, Source: fresh}); err != nil {
			t.Fatal(err)
		}
		if err := b.Put(&Record{Target: "t", Key: cur.Sum(), Time: at, Lines: cur.Stored()}); err != nil {
			t.Fatal(err)
		}
		if fa, fb := storedFiles(t, a), storedFiles(t, b); !reflect.DeepEqual(fa, fb) {
			t.Errorf("%d files: from the key %d files, from its lines %d", n, len(fa), len(fb))
		}
		got, ok := a.Get(cur.Sum())
		if !ok || !reflect.DeepEqual(got.Lines, cur.Stored()) {
			t.Errorf("%d files: record read back (hit %v) differs from the key's stored lines", n, ok)
		}
	}
}

// storedFiles maps each file of the store's records, chunks and sets to
// its content.
func storedFiles(t *testing.T, s *Store) map[string]string {
	out := map[string]string{}
	for _, folder := range []string{"records", "chunks", "sets"} {
		for _, p := range filesIn(s.Dir(), folder) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(s.Dir(), p)
			out[rel] = string(data)
		}
	}
	return out
}

// BenchmarkChunkTree cuts the key of 100,000 files as a miss does.
func BenchmarkChunkTree(b *testing.B) {
	s := openStore(b)
	k := fileKey(s, 100000, -1)
	k.Redact = func(v string) string { return v }
	for b.Loop() {
		k.tree = nil
		k.chunks()
	}
}

// hasBreak finds a tab, a line feed or a carriage return at any place,
// beside any other byte.
func TestHasBreak(t *testing.T) {
	for n := range 20 {
		for at := range n {
			for _, c := range []byte{0, 8, '\t', '\n', 11, 12, '\r', 14, ' ', 'a', 0x80, 0x89, 0x8a, 0xff} {
				b := []byte(strings.Repeat("x", n))
				b[at] = c
				want := c == '\t' || c == '\n' || c == '\r'
				if got := hasBreak(string(b)); got != want {
					t.Fatalf("hasBreak(%q) = %v", b, got)
				}
				for i := range b { // the other bytes high or low too
					if i != at {
						b[i] = 0x8d
					}
				}
				if got := hasBreak(string(b)); got != want {
					t.Fatalf("hasBreak(%q) = %v", b, got)
				}
			}
		}
	}
}

// A Put that finds a chunk or set stored marks it used now (pruning keeps
// what was used within its grace period), and stores again what is gone.
func TestPutMarksStoredChunksUsed(t *testing.T) {
	s := openStore(t)
	rec := manySources("t", 30000, -1)
	mustPut(t, s, rec)
	old := time.Now().Add(-time.Hour)
	stored := append(filesIn(s.Dir(), "chunks"), filesIn(s.Dir(), "sets")...)
	for _, f := range stored {
		os.Chtimes(f, old, old)
	}
	top := rec.lineKey().chunks()
	os.Remove(s.chunkPath(top[0].name, top[0].set))
	mustPut(t, s, rec)
	used := 0
	for _, f := range stored {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(old.Add(time.Minute)) {
			used++
		}
	}
	if want := len(top); used < want {
		t.Errorf("%d files marked used, want at least the record's %d sets", used, want)
	}
	if _, err := os.Stat(s.chunkPath(top[0].name, top[0].set)); err != nil {
		t.Errorf("a removed set was not stored again: %v", err)
	}
}
