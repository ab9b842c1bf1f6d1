package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
)

func TestDetector(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "src/a.go")
	write(t, a, "package a")
	ix := cache.OpenIndex(filepath.Join(t.TempDir(), "index"))
	d := NewDetector(ix.Hash)
	sum, err := ix.Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	d.Learn(a, sum)
	g, err := NewGlobs([]string{"src/**/*.go"})
	if err != nil {
		t.Fatal(err)
	}
	rel := Rules{{Root: dir, Match: g.Match}}.Relevant
	changed := func(paths ...string) []string { return d.Changed(paths, rel) }

	// touch and chmod: same content.
	now := time.Now().Add(time.Minute)
	os.Chtimes(a, now, now)
	os.Chmod(a, 0o600)
	if c := changed(a); len(c) != 0 {
		t.Fatalf("touch/chmod reported %v", c)
	}
	write(t, a, "package a // edited")
	if c := changed(a); !slices.Equal(c, []string{a}) {
		t.Fatalf("edit reported %v", c)
	}
	if c := changed(a); len(c) != 0 {
		t.Fatalf("the same edit reported twice: %v", c)
	}
	// A new source, and a new file that is not one.
	b := filepath.Join(dir, "src/new/b.go")
	write(t, b, "package b")
	txt := filepath.Join(dir, "src/notes.txt")
	write(t, txt, "x")
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

func TestGlobs(t *testing.T) {
	g, err := NewGlobs([]string{"src/**/*.js", "package.json", "lib", "!src/gen/**"})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"src/a.js": true, "src/x/y/b.js": true, "src/a.ts": false,
		"package.json": true, "lib/any/thing.txt": true, "src/gen/c.js": false,
		"other/a.js": false, "log.txt": false,
	} {
		if got := g.Match(rel); got != want {
			t.Errorf("Match(%q) = %v, want %v", rel, got, want)
		}
	}
	if b := g.Bases(); !slices.Equal(b, []string{"src", "package.json", "lib"}) {
		t.Errorf("Bases = %v", b)
	}
}

func TestDockerignore(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".dockerignore"), "*.log\nbuild/\n!build/keep\nDockerfile\n")
	m, err := Dockerignore(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{
		"a.go": true, "a.log": false, "sub/a.log": true, "build/out": false,
		"build/keep": true, "Dockerfile": true, ".dockerignore": true,
	} {
		if got := m(rel); got != want {
			t.Errorf("dockerignore(%q) = %v, want %v", rel, got, want)
		}
	}
}
