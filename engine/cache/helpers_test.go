package cache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// write creates rel under dir with content and, if age is non-zero, sets
// its mtime that far in the past.
func write(t testing.TB, dir, rel, content string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if age != 0 {
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// count is the number of files the index knows.
func (ix *Index) count() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := len(ix.entries)
	for _, off := range ix.file.offsets() {
		if ix.entries[ix.file.prefix+ix.file.path(off)] == nil {
			n++
		}
	}
	return n
}

func (b *baseIndex) offsets() []uint32 {
	if b == nil {
		return nil
	}
	return b.offs
}
