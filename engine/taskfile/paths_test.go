package taskfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPaths: the project is the git work tree holding the task file,
// else its folder; paths leaving it are errors unless outside = true.
func TestCheckPaths(t *testing.T) {
	repo := t.TempDir()
	dir := filepath.Join(repo, "svc")
	for _, d := range []string{filepath.Join(repo, ".git"), filepath.Join(dir, "src")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	src := `version = 1
[targets.mono]
build = { context = ".." }
sources = ["src/**", "!../../**", "../svc/*.go"]
[targets.abs]
build = { context = ".", dockerfile = "/etc/passwd" }
[targets.up]
sh = "true"
sources = ["../../**"]
[targets.link]
sh = "true"
dir = "etc"
[targets.ok]
sh = "true"
sources = ["../../**"]
outside = true
`
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f.Dir = dir
	check := func(root string) string {
		err := CheckPaths(f, root, nil)
		if err == nil {
			return ""
		}
		return err.Error()
	}
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	root := ProjectRoot(f)
	if want, _ := filepath.EvalSymlinks(repo); root != want {
		t.Fatalf("ProjectRoot = %s, want the work tree %s", root, want)
	}
	got := check(root)
	for _, want := range []string{
		`t.toml:6:26: target "abs": build.dockerfile "/etc/passwd" is outside the project`,
		`t.toml:9:12: target "up": sources "../../**" is outside the project`,
		`t.toml:12:1: target "link": dir "etc" is outside the project`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, bad := range []string{`"mono"`, `"ok"`} {
		if strings.Contains(got, bad) {
			t.Errorf("%s is inside the work tree or allowed, yet reported:\n%s", bad, got)
		}
	}
	// Outside git the task file's folder is the project: ".." leaves it.
	if got := check(dir); !strings.Contains(got, `target "mono": build.context ".."`) {
		t.Errorf("context .. outside git is not reported:\n%s", got)
	}
}

// The memo CheckPaths uses resolves each path as realPath does: links
// in any part, dangling links, missing names and files in the way.
func TestRealPathsMatchRealPath(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "a/file"), nil, 0o644)
	os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "c/toA"))
	os.Symlink("../a/b", filepath.Join(root, "c/rel"))
	os.Symlink("/nowhere/at/all", filepath.Join(root, "c/dangling"))
	m := realPaths{}
	for _, p := range []string{
		"a/b", "a/b/x/y", "c/toA/b", "c/toA/b/missing", "c/rel", "c/rel/z",
		"c/dangling", "c/dangling/q", "a/file", "a/file/under", "c/../c/toA", "missing/a",
	} {
		abs := filepath.Join(root, p)
		for range 2 { // the second time from the memo
			if got, want := m.get(abs), realPath(abs); got != want {
				t.Errorf("%s: memo %s, realPath %s", p, got, want)
			}
		}
	}
}

// Past listAfter names in one folder, the folder is listed once: a link
// met after that is still followed, a missing name still kept as written.
func TestRealPathsListedFolder(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "out"), 0o755)
	var names []string
	for i := range 2 * listAfter {
		n := fmt.Sprintf("f%d", i)
		os.WriteFile(filepath.Join(root, n), nil, 0o644)
		names = append(names, n)
	}
	os.Symlink(filepath.Join(root, "out"), filepath.Join(root, "link"))
	names = append(names, "link", "link/x", "missing", "missing/y")
	m := realPaths{}
	for _, n := range names {
		abs := filepath.Join(root, n)
		if got, want := m.get(abs), realPath(abs); got != want {
			t.Errorf("%s: memo %s, realPath %s", n, got, want)
		}
	}
	if _, listed := m.links[root]; !listed {
		t.Error("the folder was not listed")
	}
}

// Sources in a folder found inside are inside without being resolved one
// by one, but a link among them that leaves the project is still found,
// both before and after the folder is listed (listAfter).
func TestCheckPathsLinkAmongSources(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	src := "version = 1\n"
	for i := range 3 * listAfter {
		os.WriteFile(filepath.Join(dir, "in", fmt.Sprint(i)), nil, 0o644)
		src += fmt.Sprintf("[targets.t%d]\nsh = \"true\"\nsources = [\"in/%d\"]\n", i, i)
	}
	for _, i := range []int{1, 2 * listAfter} {
		os.Remove(filepath.Join(dir, "in", fmt.Sprint(i)))
		os.Symlink("/etc/passwd", filepath.Join(dir, "in", fmt.Sprint(i)))
	}
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f.Dir = dir
	names, _ := f.Closure(f.TargetNames())
	err = CheckPaths(f, realPath(dir), names)
	if err == nil {
		t.Fatal("no error for the links")
	}
	if n := strings.Count(err.Error(), "is outside the project"); n != 2 {
		t.Errorf("%d errors, want 2 (t1 and t%d):\n%v", n, 2*listAfter, err)
	}
	for _, want := range []string{`target "t1": sources "in/1"`, fmt.Sprintf(`target "t%d": sources`, 2*listAfter)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// TestCheckPathsDefaultDockerfile: a context's own Dockerfile, when no
// dockerfile is given, is checked too: a link from it to /etc/shadow
// would have -n parse (and print in its error) a file outside.
func TestCheckPathsDefaultDockerfile(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"ctx", "ok"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("/etc/shadow", filepath.Join(dir, "ctx", "Dockerfile"))
	os.WriteFile(filepath.Join(dir, "ok", "Dockerfile.real"), []byte("FROM x\n"), 0o644)
	os.Symlink("Dockerfile.real", filepath.Join(dir, "ok", "Dockerfile"))
	f, err := Parse("t.toml", []byte("version = 1\n[targets.img]\nbuild = { context = \"ctx\" }\n[targets.ok]\nbuild = { context = \"ok\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Dir = dir
	err = CheckPaths(f, realPath(dir), nil)
	want := `t.toml:3:11: target "img": Dockerfile "ctx/Dockerfile" is outside the project`
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("err = %v, want only %q", err, want)
	}
}
