package cache

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Following events, a Glob and a hash are kept until an event names a
// path; then only that path is looked at again.
func TestFollowKeepsUntilChanged(t *testing.T) {
	dir := t.TempDir()
	put := func(name, text string) string {
		return write(t, dir, name, text, 0)
	}
	a, b := put("a", "1"), put("b", "2")
	ix := OpenIndex(filepath.Join(t.TempDir(), "index"))
	ix.Follow()
	list := func() []string {
		t.Helper()
		out, err := ix.Glob(dir, []string{"**", "!skip"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sumOf := func(name string) string {
		t.Helper()
		s, err := ix.HashFiles(dir, []string{name})
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(s)
	}
	if got := list(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first glob %v", got)
	}
	first := sumOf("a")
	// No event yet: the kept list and hash stand.
	c := put("c", "3")
	put("a", "changed")
	if got := list(); !slices.Equal(got, []string{"a", "b"}) || sumOf("a") != first {
		t.Fatalf("without an event: %v", got)
	}
	os.Remove(b)
	put("skip", "x")
	ix.Changed([]string{a, b, c, filepath.Join(dir, "skip")})
	if got := list(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("after events: %v, want [a c]", got)
	}
	if sumOf("a") != xxh([]byte("changed")) {
		t.Error("an edited file kept its old hash after an event named it")
	}
	// A new folder: its files are unknown, so the next Glob walks.
	put("sub/d", "4")
	ix.Changed([]string{filepath.Join(dir, "sub")})
	if got := list(); !slices.Equal(got, []string{"a", "c", "sub/d"}) {
		t.Errorf("after a new folder: %v", got)
	}
	// A removed folder takes its files.
	os.RemoveAll(filepath.Join(dir, "sub"))
	ix.Changed([]string{filepath.Join(dir, "sub")})
	if got := list(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("after a removed folder: %v", got)
	}
	// Events lost: everything is looked at again.
	put("e", "5")
	ix.Changed([]string{""})
	if got := list(); !slices.Equal(got, []string{"a", "c", "e"}) {
		t.Errorf("after lost events: %v", got)
	}
}

// Following events, HashFiles of a Glob's kept list keeps its sums: an
// edit no event named is not seen, one an event named is, alone; lost
// events hash the list again.
func TestFollowKeepsListSums(t *testing.T) {
	dir := t.TempDir()
	put := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := put("a", "1")
	put("b", "2")
	ix := OpenIndex(filepath.Join(t.TempDir(), "index"))
	ix.Follow()
	sums := func() (string, string) {
		t.Helper()
		list, err := ix.Glob(dir, []string{"**"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := ix.HashFiles(dir, list)
		if err != nil || len(s) != 32 {
			t.Fatalf("HashFiles(%v) = %x, %v", list, s, err)
		}
		return hex.EncodeToString(s[:16]), hex.EncodeToString(s[16:])
	}
	sa, sb := sums()
	if sa != xxh([]byte("1")) || sb != xxh([]byte("2")) {
		t.Fatalf("first sums %s %s", sa, sb)
	}
	put("a", "edited")
	put("b", "edited too")
	if x, y := sums(); x != sa || y != sb {
		t.Fatal("without an event the kept sums changed")
	}
	ix.Changed([]string{a})
	if x, y := sums(); x != xxh([]byte("edited")) || y != sb {
		t.Errorf("after an event naming a: %s %s, want a's new sum and b's kept one", x, y)
	}
	ix.Changed([]string{""})
	if _, y := sums(); y != xxh([]byte("edited too")) {
		t.Error("after lost events b kept its old sum")
	}
}
