package imagecache

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
)

// twoProcesses opens the same image cache twice, each with its own handle
// on the state lock, as two dtask processes would (flock locks conflict
// between separate opens even within one process).
func twoProcesses(t *testing.T) (a, b *Cache) {
	t.Helper()
	dir := t.TempDir()
	sa, err := cache.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := cache.OpenStore(dir)
	return Open(filepath.Join(dir, "images"), 0, sa), Open(filepath.Join(dir, "images"), 0, sb)
}

func blobsOf(e *Entry) []Member {
	var out []Member
	for _, m := range e.Members {
		if m.Blob {
			out = append(out, m)
		}
	}
	return out
}

// One process's prune must not delete layers of entries another process
// saved after the first had read the index.
func TestPruneSeesAnotherProcessesEntries(t *testing.T) {
	a, b := twoProcesses(t)
	x := putEntry(t, a, fakeID(20), fakeArchive(t, noise(200<<10)), time.Now())
	if !a.Has(x.ID) { // a has now read the index: x only
		t.Fatal("x missing")
	}
	y := putEntry(t, b, fakeID(21), fakeArchive(t, noise(200<<10)), time.Now())
	// What Save does after writing its entry: prune to the budget, which
	// removes blobs no entry uses.
	unlock, err := a.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.pruneLocked(a.MaxSize)
	unlock()
	for _, m := range blobsOf(y) {
		if _, err := os.Stat(b.blobPath(m.Digest, m.Zstd)); err != nil {
			t.Fatalf("the other process's layer was deleted: %v", err)
		}
	}
	if !b.Has(y.ID) || !a.Has(y.ID) {
		t.Error("the other process's entry is not whole")
	}
}

// A long-lived process (watch mode) sees entries saved and dropped by
// another one.
func TestLookupSeesAnotherProcessesChanges(t *testing.T) {
	a, b := twoProcesses(t)
	if _, ok := a.Lookup("test/0016"); ok {
		t.Fatal("found in an empty cache")
	}
	y := putEntry(t, b, fakeID(22), fakeArchive(t, noise(100<<10)), time.Now())
	if id, ok := a.Lookup(y.Refs[0]); !ok || id != y.ID {
		t.Fatalf("Lookup after another process saved: %q %v", id, ok)
	}
	if got, ok := a.Newest(KindBuild, ""); !ok || got != y.ID {
		t.Errorf("Newest: %q %v", got, ok)
	}
	if _, err := b.Prune(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Lookup(y.Refs[0]); ok {
		t.Error("Lookup finds an entry another process pruned")
	}
}

// The damage warning says "damaged" once, and comes once.
func TestDamageWarningWording(t *testing.T) {
	c := Open(t.TempDir(), 0, nil)
	var warnings []string
	c.Warn = func(msg string) { warnings = append(warnings, msg) }
	e := putEntry(t, c, fakeID(23), fakeArchive(t, noise(300<<10)), time.Now())
	m := blobsOf(e)[0]
	os.Truncate(c.blobPath(m.Digest, m.Zstd), m.Stored/2)
	c.Has(e.ID)
	c.Has(e.ID)
	if len(warnings) != 1 || strings.Count(warnings[0], "damaged") != 1 || !strings.Contains(warnings[0], "truncated") {
		t.Fatalf("warnings %q: want one saying damaged once, with the reason", warnings)
	}
}

// Has marks the entry used: an image that keeps a target up to date
// without being loaded must not be the first one pruned.
func TestHasMarksUsed(t *testing.T) {
	c := Open(t.TempDir(), 0, nil)
	now := time.Now()
	kept := putEntry(t, c, fakeID(24), fakeArchive(t, noise(400<<10)), now.Add(-3*time.Hour))
	other := putEntry(t, c, fakeID(25), fakeArchive(t, noise(400<<10)), now.Add(-time.Hour))
	if !c.Has(kept.ID) {
		t.Fatal("entry missing")
	}
	fi, err := os.Stat(c.entryPath(kept.ID))
	if err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Fatalf("Has did not mark the entry used: %v %v", fi.ModTime(), err)
	}
	dropped, err := c.Prune(context.Background(), 600<<10)
	if err != nil || len(dropped) != 1 || dropped[0].ID != other.ID {
		t.Errorf("pruned %v (%v), want the entry no target used lately", dropped, err)
	}
}

// A tampered entry whose digest climbs out of blobs/ is refused: nothing
// outside the cache is stat'ed or removed.
func TestTamperedDigestIsRefused(t *testing.T) {
	dir := t.TempDir()
	c := Open(filepath.Join(dir, "images"), 0, nil)
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	id := fakeID(26)
	e := Entry{ID: id, Refs: []string{"evil:1"}, Kind: KindBuild, Saved: time.Now(), Members: []Member{
		{Name: "layer.tar", Type: '0', Size: 10, Digest: "../../victim", Blob: true, Stored: 1},
	}}
	data, _ := json.Marshal(e)
	if err := c.writeAtomic(c.entryPath(id), data); err != nil {
		t.Fatal(err)
	}
	if c.Has(id) {
		t.Error("a tampered entry counts as present")
	}
	if _, ok := c.Lookup("evil:1"); ok {
		t.Error("a tampered entry is found by name")
	}
	if _, err := c.Prune(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Fatalf("a file outside the cache was touched: %q %v", b, err)
	}
}
