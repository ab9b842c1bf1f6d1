// Package testfs writes the files tests work on, so that a failure to
// make one ends the test where it happened rather than as a puzzling miss
// later.
package testfs

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes body to path, making the folders it needs, and returns
// path.
func Write(t testing.TB, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Files writes each of files (slash paths under dir -> content), as
// Write does.
func Files(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		Write(t, filepath.Join(dir, filepath.FromSlash(name)), body)
	}
}
