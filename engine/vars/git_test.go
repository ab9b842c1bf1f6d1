package vars

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitEnv isolates the git runs of a test from the user's configuration.
func gitEnv(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need the git binary: %v", err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "gitconfig"))
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes a repository on branch main with one commit of file a.txt.
func newRepo(t testing.TB, initArgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	commit(t, dir, "a.txt", "one")
	return dir
}

func commit(t testing.TB, dir, file, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", file)
	git(t, dir, "commit", "-q", "-m", content)
	return git(t, dir, "rev-parse", "HEAD")
}

func local(string) string { return "" }

// builtinValues looks up every built-in in a fresh layer.
func builtinValues(t testing.TB, dir string, getenv func(string) string) map[string]string {
	t.Helper()
	l := Builtins(dir, getenv, "staging", "/tf")
	got := map[string]string{}
	for _, n := range BuiltinNames {
		v, ok := l.Vars[n]
		if !ok {
			v, ok = l.Func(n)
		}
		if !ok {
			t.Fatalf("built-in %s not defined", n)
		}
		got[n] = v
	}
	return got
}

func checkValues(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

func TestGitBranchAndDirty(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	commit(t, dir, "b.txt", "two")
	sha := git(t, dir, "rev-parse", "HEAD")
	want := map[string]string{
		"GIT_SHA": sha, "GIT_SHORT_SHA": sha[:7], "GIT_BRANCH": "main", "GIT_TAG": "",
		"GIT_DIRTY": "false", "VERSION": git(t, dir, "describe", "--tags", "--always"),
		"CI": "false", "CI_PROVIDER": "local", "BUILD_NUM": "", "DTASK_ENV": "staging", "TASKFILE_DIR": "/tf",
	}
	checkValues(t, builtinValues(t, dir, local), want)

	// Found upward from a subfolder.
	sub := filepath.Join(dir, "deep", "er")
	os.MkdirAll(sub, 0o755)
	checkValues(t, builtinValues(t, sub, local), map[string]string{"GIT_SHA": sha, "GIT_BRANCH": "main"})

	// Untracked files do not make it dirty; a changed tracked file does.
	os.WriteFile(filepath.Join(dir, "untracked"), []byte("x"), 0o644)
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_DIRTY": "false"})
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644)
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_DIRTY": "true"})

	// A branch with a slash, and the new commit seen by a fresh layer.
	git(t, dir, "checkout", "-q", "-b", "feature/x")
	sha2 := commit(t, dir, "a.txt", "three")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": sha2, "GIT_BRANCH": "feature/x"})
}

func TestGitDetachedHead(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	first := git(t, dir, "rev-parse", "HEAD")
	commit(t, dir, "a.txt", "two")
	git(t, dir, "checkout", "-q", "--detach", first)
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": first, "GIT_BRANCH": ""})

	gh := envFunc(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/3/merge", "GITHUB_HEAD_REF": "topic", "GITHUB_SHA": sha1, "GITHUB_RUN_NUMBER": "8"})
	// The checkout's own commit wins over the CI's SHA; the branch comes from the CI.
	checkValues(t, builtinValues(t, dir, gh), map[string]string{
		"GIT_SHA": first, "GIT_BRANCH": "topic", "CI": "true", "CI_PROVIDER": "github", "BUILD_NUM": "8",
	})
	// On a branch, the branch checked out wins over the CI's.
	git(t, dir, "checkout", "-q", "main")
	checkValues(t, builtinValues(t, dir, gh), map[string]string{"GIT_BRANCH": "main"})
}

func TestGitPackedRefs(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	sha := commit(t, dir, "a.txt", "two")
	git(t, dir, "tag", "light")
	git(t, dir, "pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); !os.IsNotExist(err) {
		t.Fatalf("refs/heads/main still loose after pack-refs: %v", err)
	}
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": sha, "GIT_BRANCH": "main", "GIT_TAG": "light"})

	// A new commit makes the branch loose again, overriding the packed value.
	sha2 := commit(t, dir, "a.txt", "three")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": sha2, "GIT_TAG": ""})
}

func TestGitTags(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	git(t, dir, "tag", "-a", "-m", "old", "v0.9") // annotated, on an older commit
	git(t, dir, "tag", "old-light")
	sha := commit(t, dir, "a.txt", "two")

	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "", "VERSION": git(t, dir, "describe", "--tags", "--always")})

	git(t, dir, "tag", "zz-light")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "zz-light"})

	// Annotated (loose ref, loose tag object) beats lightweight.
	git(t, dir, "tag", "-a", "-m", "release", "v1.0")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "v1.0", "VERSION": "v1.0", "GIT_SHA": sha})

	// Packed, with peeled "^" lines.
	git(t, dir, "pack-refs", "--all")
	packed, _ := os.ReadFile(filepath.Join(dir, ".git", "packed-refs"))
	if !strings.Contains(string(packed), "\n^") {
		t.Fatalf("packed-refs has no peeled line:\n%s", packed)
	}
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "v1.0"})

	// A tag of a tag (peeled through two objects), loose.
	git(t, dir, "tag", "-a", "-m", "nested", "a-nested", "v1.0")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "a-nested"})

	// The CI's tag for a tag build wins.
	checkValues(t, builtinValues(t, dir, envFunc(map[string]string{"GITLAB_CI": "true", "CI_COMMIT_TAG": "ci-tag"})),
		map[string]string{"GIT_TAG": "ci-tag"})
}

// A loose tag ref whose tag object sits in a pack cannot be peeled by reading
// loose objects; git answers instead.
func TestGitTagObjectInPack(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	git(t, dir, "tag", "-a", "-m", "old", "v0.1")
	commit(t, dir, "a.txt", "two")
	git(t, dir, "tag", "-a", "-m", "packed object", "v2.0")
	git(t, dir, "repack", "-q", "-a", "-d")
	git(t, dir, "prune-packed")
	r, _ := findRepo(dir)
	obj := strings.TrimSpace(readFile(t, filepath.Join(dir, ".git", "refs", "tags", "v2.0")))
	if _, _, err := r.readLoose(obj); err != errNeedGit {
		t.Fatalf("tag object still loose: %v", err)
	}
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_TAG": "v2.0"})
}

func readFile(t testing.TB, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGitWorktree(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	main := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "pack-refs", "--all")
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, dir, "worktree", "add", "-q", "-b", "feature", wt)
	sha := commit(t, wt, "w.txt", "in worktree")
	git(t, wt, "tag", "wt-tag")
	if fi, err := os.Stat(filepath.Join(wt, ".git")); err != nil || fi.IsDir() {
		t.Fatalf("worktree .git should be a file: %v", err)
	}
	checkValues(t, builtinValues(t, wt, local), map[string]string{"GIT_SHA": sha, "GIT_BRANCH": "feature", "GIT_TAG": "wt-tag", "GIT_DIRTY": "false"})
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": main, "GIT_BRANCH": "main", "GIT_TAG": ""})

	// Detached in the worktree: HEAD is per worktree.
	git(t, wt, "checkout", "-q", "--detach", main)
	checkValues(t, builtinValues(t, wt, local), map[string]string{"GIT_SHA": main, "GIT_BRANCH": ""})
}

func TestGitNoRepo(t *testing.T) {
	gitEnv(t)
	dir := t.TempDir()
	if _, ok := findRepo(dir); ok {
		t.Skip("the temp folder is inside a git repository")
	}
	checkValues(t, builtinValues(t, dir, local), map[string]string{
		"GIT_SHA": "", "GIT_SHORT_SHA": "", "GIT_BRANCH": "", "GIT_TAG": "", "GIT_DIRTY": "false", "VERSION": "",
	})
	circle := envFunc(map[string]string{"CIRCLECI": "true", "CIRCLE_BRANCH": "dev", "CIRCLE_SHA1": sha1, "CIRCLE_BUILD_NUM": "5"})
	checkValues(t, builtinValues(t, dir, circle), map[string]string{
		"GIT_SHA": sha1, "GIT_SHORT_SHA": sha1[:7], "GIT_BRANCH": "dev", "GIT_DIRTY": "false",
		"VERSION": sha1[:7], "BUILD_NUM": "5", "CI": "true", "CI_PROVIDER": "circleci",
	})
}

func TestGitUnbornBranch(t *testing.T) {
	gitEnv(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "trunk")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": "", "GIT_BRANCH": "trunk", "GIT_TAG": "", "GIT_DIRTY": "false"})
}

func TestGitSHA256(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t, "--object-format=sha256")
	sha := git(t, dir, "rev-parse", "HEAD")
	if len(sha) != 64 {
		t.Fatalf("not a sha256 repo: %s", sha)
	}
	git(t, dir, "tag", "-a", "-m", "x", "v1")
	checkValues(t, builtinValues(t, dir, local), map[string]string{"GIT_SHA": sha, "GIT_SHORT_SHA": sha[:7], "GIT_TAG": "v1"})
}

func TestGitWithoutBinary(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	sha := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "tag", "v3")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("dirty"), 0o644)
	t.Setenv("PATH", t.TempDir()) // no git to be found
	checkValues(t, builtinValues(t, dir, local), map[string]string{
		"GIT_SHA": sha, "GIT_BRANCH": "main", "GIT_TAG": "v3", "GIT_DIRTY": "false", "VERSION": "v3",
	})
}

// docs/taskfile.md (variables): built-ins come before the process environment, where CI machines
// put GIT_BRANCH=origin/main.
func TestBuiltinsInScope(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	sha := git(t, dir, "rev-parse", "HEAD")
	proc := map[string]string{"GIT_BRANCH": "origin/main", "REGISTRY": "reg.example"}
	s := NewScope(
		Layer{Name: "command line"},
		Layer{Name: "vars", Template: true, Vars: map[string]string{
			"APP": "shop", "IMAGE": "${APP}:${GIT_SHORT_SHA}", "REGISTRY": "${REGISTRY:-127.0.0.1:5000}",
		}},
		Builtins(dir, envFunc(proc), "", dir),
		Layer{Name: "process environment", Vars: proc},
	)
	got, err := s.Expand("${REGISTRY}/${IMAGE}-${GIT_BRANCH} ${CI}")
	if want := "reg.example/shop:" + sha[:7] + "-main false"; err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
}

// BenchmarkBuiltinsHead measures a fresh built-in layer answering GIT_SHA and
// GIT_BRANCH (the .git lookup upward, HEAD, loose ref and packed-refs reads).
func BenchmarkBuiltinsHead(b *testing.B) {
	gitEnv(b)
	dir := newRepo(b)
	for i := range 20 {
		git(b, dir, "tag", "t"+string(rune('a'+i)))
	}
	git(b, dir, "pack-refs", "--all")
	sub := filepath.Join(dir, "src", "pkg")
	os.MkdirAll(sub, 0o755)
	for b.Loop() {
		l := Builtins(sub, local, "", dir)
		if sha, _ := l.Func("GIT_SHA"); len(sha) != 40 {
			b.Fatal("no sha")
		}
		if br, _ := l.Func("GIT_BRANCH"); br != "main" {
			b.Fatal("no branch")
		}
	}
}

// BenchmarkBuiltinsTag adds GIT_TAG (packed-refs and refs/tags walk).
func BenchmarkBuiltinsTag(b *testing.B) {
	gitEnv(b)
	dir := newRepo(b)
	git(b, dir, "tag", "-a", "-m", "x", "v1")
	for i := range 20 {
		git(b, dir, "tag", "t"+string(rune('a'+i)))
	}
	git(b, dir, "pack-refs", "--all")
	for b.Loop() {
		l := Builtins(dir, local, "", dir)
		if tag, _ := l.Func("GIT_TAG"); tag != "v1" {
			b.Fatal("no tag", tag)
		}
	}
}
