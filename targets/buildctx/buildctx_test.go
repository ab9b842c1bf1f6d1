package buildctx

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/go-archive"

	"github.com/dtask-dev/dtask/internal/testfs"
)

// trickyIgnore exercises anchoring, ** patterns, exceptions inside excluded
// folders, comments and the always-sent Dockerfile and .dockerignore.
const trickyIgnore = `# a comment line
*.log
**/*.tmp
build/**
!build/keep.txt
secret/
!secret/allowed.txt
/anchored.txt
docs
!docs/README.md
*/cache
Dockerfile
.dockerignore
`

// makeTricky writes a context whose .dockerignore has tricky patterns and
// returns its folder.
func makeTricky(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":         "FROM busybox\nCOPY . /ctx\n",
		".dockerignore":      trickyIgnore,
		"a.txt":              "a",
		"a.log":              "top-level log: excluded",
		"sub/b.log":          "nested log: kept (*.log is anchored)",
		"x.tmp":              "excluded",
		"sub/deep/y.tmp":     "excluded",
		"build/out.bin":      "excluded",
		"build/keep.txt":     "re-included",
		"build/sub/z":        "excluded",
		"secret/key":         "excluded",
		"secret/allowed.txt": "re-included",
		"anchored.txt":       "excluded",
		"sub/anchored.txt":   "kept",
		"docs/README.md":     "re-included",
		"docs/other.md":      "excluded",
		"sub/cache/c":        "excluded",
		"deep/a/cache/c":     "kept: */cache is one level",
		"src/main.go":        "package main",
		"bin/run.sh":         "#!/bin/sh\n",
	}
	testfs.Files(t, dir, files)
	if err := os.Chmod(filepath.Join(dir, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "a.txt"), filepath.Join(dir, "src/hard.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tarNames(t *testing.T, r io.Reader) (names []string, bodies map[string]string) {
	t.Helper()
	bodies = map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			bodies[h.Name] = string(b)
		}
	}
}

// cliTar is what the docker CLI sends: go-archive's TarWithOptions with the
// same excludes.
func cliTar(t *testing.T, c *Context) []string {
	t.Helper()
	rc, err := archive.TarWithOptions(c.Dir, &archive.TarOptions{ExcludePatterns: c.Excludes})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	names, _ := tarNames(t, rc)
	return names
}

func TestListMatchesCLITar(t *testing.T) {
	dir := makeTricky(t)
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Path)
	}
	want := cliTar(t, c)
	if !slices.Equal(got, want) {
		t.Fatalf("entries differ from the CLI's tar\n got: %v\nwant: %v", got, want)
	}
	for _, must := range []string{"Dockerfile", ".dockerignore", "sub/b.log", "build/keep.txt", "secret/allowed.txt", "docs/README.md", "emptydir", "link", "deep/a/cache/c"} {
		if !slices.Contains(got, must) {
			t.Errorf("%s missing from the context", must)
		}
	}
	for _, mustNot := range []string{"a.log", "x.tmp", "sub/deep/y.tmp", "build/out.bin", "build/sub/z", "secret/key", "anchored.txt", "docs/other.md", "sub/cache/c", "secret"} {
		if slices.Contains(got, mustNot) {
			t.Errorf("%s should be excluded", mustNot)
		}
	}
	if slices.Contains(c.Files(), "emptydir") || slices.Contains(c.Files(), "link") {
		t.Errorf("Files lists non-regular entries: %v", c.Files())
	}
}

func TestTarMatchesCLITar(t *testing.T) {
	dir := makeTricky(t)
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	rc := c.Tar(false)
	defer rc.Close()
	got, bodies := tarNames(t, rc)
	if want := cliTar(t, c); !slices.Equal(got, want) {
		t.Fatalf("tar differs from the CLI's\n got: %v\nwant: %v", got, want)
	}
	if bodies["build/keep.txt"] != "re-included" || bodies["a.txt"] != "a" {
		t.Errorf("unexpected bodies: %q", bodies)
	}
}

func TestOutsideDockerfile(t *testing.T) {
	dir := makeTricky(t)
	df := filepath.Join(t.TempDir(), "Other.Dockerfile")
	if err := os.WriteFile(df, []byte("FROM busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir, df)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Outside || !strings.HasPrefix(c.Name, ".dockerfile.") {
		t.Fatalf("outside dockerfile not detected: %+v", c)
	}
	rc := c.Tar(false)
	defer rc.Close()
	names, bodies := tarNames(t, rc)
	if bodies[c.Name] != "FROM busybox\n" {
		t.Errorf("dockerfile not in the tar under %s: %v", c.Name, names)
	}
	if !strings.HasSuffix(bodies[".dockerignore"], "\n"+c.Name+"\n") || !strings.HasPrefix(bodies[".dockerignore"], "# a comment") {
		t.Errorf(".dockerignore not extended: %q", bodies[".dockerignore"])
	}
	// Dockerfile in the context is now an ordinary file that the
	// .dockerignore excludes.
	if slices.Contains(names, "Dockerfile") {
		t.Errorf("Dockerfile should be excluded when another one is used")
	}
	again, err := Load(dir, df)
	if err != nil || again.Name != c.Name {
		t.Errorf("outside name not stable: %s vs %s (%v)", c.Name, again.Name, err)
	}
}

func TestOutsideDockerfileWithoutIgnore(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	df := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(df, []byte("FROM busybox\n"), 0o644)
	c, err := Load(dir, df)
	if err != nil {
		t.Fatal(err)
	}
	rc := c.Tar(false)
	defer rc.Close()
	names, bodies := tarNames(t, rc)
	if !slices.Equal(names, []string{"f", ".dockerignore", c.Name}) || bodies[".dockerignore"] != "\n"+c.Name+"\n" {
		t.Errorf("got %v %q", names, bodies)
	}
}

func TestDockerfileInSubfolderExcluded(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "docker"), 0o755)
	os.WriteFile(filepath.Join(dir, "docker/Dockerfile"), []byte("FROM busybox\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "docker/other"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("docker\n"), 0o644)
	c, err := Load(dir, filepath.Join(dir, "docker/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Path)
	}
	if c.Name != "docker/Dockerfile" || !slices.Equal(got, cliTar(t, c)) || !slices.Contains(got, "docker/Dockerfile") || slices.Contains(got, "docker/other") {
		t.Errorf("name %s entries %v cli %v", c.Name, got, cliTar(t, c))
	}
}

func TestTreeChanges(t *testing.T) {
	dir := makeTricky(t)
	c1, _ := Load(dir, "")
	os.Mkdir(filepath.Join(dir, "newdir"), 0o755)
	c2, _ := Load(dir, "")
	if c1.Tree() == c2.Tree() {
		t.Error("a new empty folder did not change Tree")
	}
	os.Chmod(filepath.Join(dir, "a.txt"), 0o600)
	c3, _ := Load(dir, "")
	if c2.Tree() == c3.Tree() {
		t.Error("a chmod did not change Tree")
	}
	os.Mkdir(filepath.Join(dir, "build/newdir"), 0o755)
	c4, _ := Load(dir, "")
	if c3.Tree() != c4.Tree() {
		t.Error("an ignored folder changed Tree")
	}
}

func TestWithoutLeavesOutOnlyThatTopLevelEntry(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", ".git/HEAD", ".git/refs/heads/main", ".gitignore", ".github/ci.yml", "src/.git/x"} {
		testfs.Write(t, filepath.Join(dir, f), "x")
	}
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Without(".git")
	want := []string{".github/ci.yml", ".gitignore", "Dockerfile", "src/.git/x"}
	if got := w.Files(); !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if w.Tree() == c.Tree() {
		t.Error("the tree still holds .git")
	}
	if len(c.Files()) != 6 {
		t.Errorf("the context itself lost entries: %v", c.Files())
	}
	if c.Without("absent") != c {
		t.Error("nothing to leave out, yet a copy")
	}
}
