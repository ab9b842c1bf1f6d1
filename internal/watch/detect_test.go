package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testfs"
)

func TestDetector(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "src/a.go")
	testfs.Write(t, a, "package a")
	ix := cache.OpenIndex(filepath.Join(t.TempDir(), "index"))
	d := NewDetector(ix.Hash)
	sum, err := ix.Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	d.Learn(a, sum)
	f := &taskfile.File{Dir: dir}
	set, err := sources.Of(f, &taskfile.Target{Sh: taskfile.StringList{"true"}, Sources: []string{"src/**/*.go"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	rel := set.Relevant
	changed := func(paths ...string) []string { return d.Changed(paths, rel) }

	// touch and chmod: same content.
	now := time.Now().Add(time.Minute)
	os.Chtimes(a, now, now)
	os.Chmod(a, 0o600)
	if c := changed(a); len(c) != 0 {
		t.Fatalf("touch/chmod reported %v", c)
	}
	testfs.Write(t, a, "package a // edited")
	if c := changed(a); !slices.Equal(c, []string{a}) {
		t.Fatalf("edit reported %v", c)
	}
	if c := changed(a); len(c) != 0 {
		t.Fatalf("the same edit reported twice: %v", c)
	}
	// A new source, and a new file that is not one.
	b := filepath.Join(dir, "src/new/b.go")
	testfs.Write(t, b, "package b")
	txt := filepath.Join(dir, "src/notes.txt")
	testfs.Write(t, txt, "x")
	if c := changed(b, txt, filepath.Join(dir, "src/new")); !slices.Equal(c, []string{b}) {
		t.Fatalf("new files reported %v, want only %s", c, b)
	}
	// Removing a folder removes its known files.
	os.RemoveAll(filepath.Join(dir, "src/new"))
	if c := changed(filepath.Join(dir, "src/new")); !slices.Equal(c, []string{filepath.Join(dir, "src/new")}) {
		t.Fatalf("rm -r reported %v", c)
	}
	if c := changed(filepath.Join(dir, "src/gone.go")); len(c) != 0 {
		t.Fatalf("an unknown missing file reported %v", c)
	}
	if c := changed(Lost); len(c) != 1 {
		t.Fatalf("lost events reported %v", c)
	}
}
