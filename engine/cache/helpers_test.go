package cache

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/testfs"
)

// write creates rel under dir with content and, if age is non-zero, sets
// its mtime that far in the past.
func write(t testing.TB, dir, rel, content string, age time.Duration) string {
	t.Helper()
	p := testfs.Write(t, filepath.Join(dir, filepath.FromSlash(rel)), content)
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
	all := map[string]*entry{}
	ix.file.all(all)
	maps.Copy(all, ix.entries)
	return len(all)
}
