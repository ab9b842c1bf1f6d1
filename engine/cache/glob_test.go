package cache

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func globTree(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{
		"package.json", ".env", "README.md",
		"src/a.js", "src/b.ts", "src/.hidden.js", "src/x/c.js", "src/x/y/d.js", "src/x/y/e.txt",
		"src/gen/g.js", "src/gen/deep/h.js", "src/a.test.js",
		"lib/l.js", "lib/node_modules/m/index.js",
		".git/config", "src/.git/HEAD", ".dtask/index", "src/.dtask/x",
		"docs/guide/intro.md", "weird name [1].txt",
	} {
		write(t, dir, f, f, 0)
	}
	os.Symlink("src/a.js", filepath.Join(dir, "link.js"))
	os.Symlink("src", filepath.Join(dir, "srclink"))
	os.Symlink("nowhere", filepath.Join(dir, "broken.js"))
	return dir
}

func TestGlob(t *testing.T) {
	dir := globTree(t)
	for _, tc := range []struct {
		patterns []string
		want     string
	}{
		{[]string{"src/**/*"}, "src/.hidden.js src/a.js src/a.test.js src/b.ts src/gen/deep/h.js src/gen/g.js src/x/c.js src/x/y/d.js src/x/y/e.txt"},
		{[]string{"src/**/*.js", "!src/gen", "!**/*.test.js"}, "src/.hidden.js src/a.js src/x/c.js src/x/y/d.js"},
		{[]string{"src/*.js"}, "src/.hidden.js src/a.js src/a.test.js"},
		{[]string{"src/x"}, "src/x/c.js src/x/y/d.js src/x/y/e.txt"},
		{[]string{"src/x/"}, "src/x/c.js src/x/y/d.js src/x/y/e.txt"},
		{[]string{"./package.json", "README.md", "missing.txt"}, "README.md package.json"},
		{[]string{"**/*.js", "!**/node_modules", "!src"}, "lib/l.js link.js"},
		{[]string{"src/**/*.js", "src/x/**"}, "src/.hidden.js src/a.js src/a.test.js src/gen/deep/h.js src/gen/g.js src/x/c.js src/x/y/d.js src/x/y/e.txt"},
		{[]string{"src/{a,b}.*"}, "src/a.js src/a.test.js src/b.ts"},
		{[]string{"src/x/**/d.js"}, "src/x/y/d.js"},
		{[]string{"src/?.js"}, "src/a.js"},
		{[]string{"*/x"}, "src/x/c.js src/x/y/d.js src/x/y/e.txt"},
		{[]string{"docs/**/*", "!docs/guide/intro.md"}, ""},
		{[]string{"weird name \\[1\\].txt"}, "weird name [1].txt"},
		{[]string{"nothing/**/*"}, ""},
		{[]string{"."}, ".env README.md broken.js link.js package.json"}, // checked loosely below
	} {
		got, err := Glob(dir, tc.patterns)
		if err != nil {
			t.Errorf("%q: %v", tc.patterns, err)
			continue
		}
		if tc.patterns[0] == "." {
			for _, f := range got {
				if strings.HasPrefix(f, ".git/") || strings.Contains(f, "/.git/") || strings.Contains(f, ".dtask/") || strings.HasPrefix(f, "srclink/") || f == "broken.js" {
					t.Errorf(`"." gave %s`, f)
				}
			}
			if !slices.Contains(got, ".env") || !slices.Contains(got, "src/x/y/d.js") || !slices.Contains(got, "link.js") {
				t.Errorf(`"." misses files: %v`, got)
			}
			if !slices.IsSorted(got) {
				t.Errorf(`"." not sorted: %v`, got)
			}
			continue
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.patterns, s, tc.want)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	dir := globTree(t)
	for _, p := range []string{"src/[", "/etc/passwd", "!", ""} {
		_, err := Glob(dir, []string{"src/**", p})
		if err == nil {
			t.Errorf("%q: no error", p)
			continue
		}
		if !strings.Contains(err.Error(), "\""+p+"\"") {
			t.Errorf("%q: error does not name the pattern: %v", p, err)
		}
	}
	if os.Getuid() != 0 {
		locked := filepath.Join(dir, "src", "x")
		os.Chmod(locked, 0)
		defer os.Chmod(locked, 0o755)
		if _, err := Glob(dir, []string{"src/**/*.js"}); err == nil || !strings.Contains(err.Error(), `"src/**/*.js"`) {
			t.Errorf("unreadable folder: %v", err)
		}
	}
}

func TestGlobRelativeUp(t *testing.T) {
	dir := globTree(t)
	got, err := Glob(filepath.Join(dir, "lib"), []string{"../src/x/**", "*.js"})
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(got, " "); s != "../src/x/c.js ../src/x/y/d.js ../src/x/y/e.txt l.js" {
		t.Errorf("got %s", s)
	}
}

func TestGlobOrder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a/b", "a.txt", "a-b", "a/c/d", "a/c.d", "a0", "A", "b/a", "a b/x", "ab/c"} {
		write(t, dir, f, "", 0)
	}
	got, err := Glob(dir, []string{"**"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(got) || len(got) != 10 {
		t.Errorf("not in path order: %v", got)
	}
	// The walk itself yields that order; Glob's sort is only a fallback.
	p, _ := parsePattern("**")
	g := &globber{dir: dir, incl: []*pattern{p}}
	if err := g.root(p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.out, got) {
		t.Errorf("walk order %v, want %v", g.out, got)
	}
}

func TestGlobPrimesHash(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "src/a", "a", time.Hour)
	b := write(t, dir, "src/b", "b", time.Hour)
	ix := OpenIndex(filepath.Join(dir, "index"))
	want := mustHash(t, ix, b)

	files, err := ix.Glob(dir, []string{"src/**"})
	if err != nil || len(files) != 2 {
		t.Fatal(files, err)
	}
	before := ix.primedHits.Load()
	if h := mustHash(t, ix, b); h != want {
		t.Fatalf("primed Hash: %s, want %s", h, want)
	}
	if h := mustHash(t, ix, a); h != xxh([]byte("a")) {
		t.Fatalf("primed Hash of a new file: %s", h)
	}
	if got := ix.primedHits.Load() - before; got != 2 {
		t.Fatalf("%d stats taken from the Glob, want 2", got)
	}
	// A primed stat is used once: after a change, Hash stats again.
	write(t, dir, "src/b", "bb", time.Hour)
	if h := mustHash(t, ix, b); h != xxh([]byte("bb")) {
		t.Fatalf("Hash after change: %s", h)
	}
	if got := ix.primedHits.Load() - before; got != 2 {
		t.Fatalf("a primed stat was used twice")
	}
}

// Files edited while a run walks and hashes them are seen as they are
// by the next run: whatever the run took, stat or content, from before or
// after an edit, the index never keeps a hash under a stat it would match
// again.
func TestEditDuringWalkSeenNextRun(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 2000 {
		files = append(files, write(t, dir, fmt.Sprintf("src/d%d/f%d", i/100, i), "before", time.Hour))
	}
	idx := filepath.Join(t.TempDir(), "index")
	run := func() map[string]string {
		ix := OpenIndex(idx)
		rels, err := ix.Glob(dir, []string{"src/**"})
		if err != nil {
			t.Fatal(err)
		}
		abs := make([]string, len(rels))
		for i, r := range rels {
			abs[i] = filepath.Join(dir, filepath.FromSlash(r))
		}
		sums, err := ix.HashAll(abs)
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Save(); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, a := range abs {
			m[a] = sums[i]
		}
		return m
	}
	run()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Same size, and an mtime an hour old: only the stat's other
		// fields (and the racy rule) can tell.
		for i := len(files) - 1; i >= 0; i -= 3 {
			write(t, dir, fmt.Sprintf("src/d%d/f%d", i/100, i), "after!", time.Hour-time.Duration(i)*time.Millisecond)
		}
	}()
	run()
	<-done
	got := run()
	for i, f := range files {
		want := "before"
		if (len(files)-1-i)%3 == 0 {
			want = "after!"
		}
		data, _ := os.ReadFile(f)
		if string(data) != want || got[f] != xxh(data) {
			t.Fatalf("%s: content %q, next run hashed %s, want the hash of %q", f, data, got[f], want)
		}
	}
}

// A Glob through an index keeps no stat of a file the index holds with
// the stat the walk took: only the changed file's folder keeps stats, of
// that file alone, and hashing then reads only it, with each file's
// right hash.
func TestGlobVerifiesUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	var abs []string
	for i := range 20 {
		abs = append(abs, write(t, dir, fmt.Sprintf("src/d%d/f%02d", i%3, i), fmt.Sprint(i), time.Hour))
	}
	idx := filepath.Join(t.TempDir(), "index")
	ix := OpenIndex(idx)
	if _, err := ix.HashAll(abs); err != nil {
		t.Fatal(err)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "src/d1/f01", "changed", time.Hour)

	ix = OpenIndex(idx)
	rels, err := ix.Glob(dir, []string{"src/**"})
	if err != nil || len(rels) != 20 {
		t.Fatal(rels, err)
	}
	kept, withStats := 0, 0
	for _, r := range ix.primes[0].stats.runs {
		withStats++
		for _, s := range r {
			if s.ok() {
				kept++
			}
		}
	}
	if kept != 1 || withStats != 1 {
		t.Errorf("walk kept %d stats in %d runs, want 1 in 1", kept, withStats)
	}
	sums, err := ix.HashFiles(dir, rels)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rels {
		content, _ := os.ReadFile(filepath.Join(dir, r))
		if got := hex.EncodeToString(sums[16*i : 16*i+16]); got != xxh(content) {
			t.Errorf("%s: %s, want %s", r, got, xxh(content))
		}
	}
	if ix.reads.Load() != 1 || ix.primedHits.Load() != 20 {
		t.Errorf("%d reads and %d primed, want 1 and 20", ix.reads.Load(), ix.primedHits.Load())
	}
}
