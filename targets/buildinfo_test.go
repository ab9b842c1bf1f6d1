package targets

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// TestBuildInfoAsksGitOnce: the revision and source come from git in the
// task file's folder, once per run: a commit made after the first answer
// does not change it (a run labels all its images alike).
func TestBuildInfoAsksGitOnce(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "one")
	git("remote", "add", "origin", "git@example.com:org/repo.git")
	first := git("rev-parse", "HEAD")

	e := &Env{File: &taskfile.File{Dir: dir}}
	e.PrefetchBuildInfo()
	rev, src := e.BuildInfo()
	if rev != first || src != "https://example.com/org/repo" {
		t.Fatalf("BuildInfo() = %q, %q; want %q, https://example.com/org/repo", rev, src, first)
	}
	git("commit", "-q", "--allow-empty", "-m", "two")
	if rev, _ := e.BuildInfo(); rev != first {
		t.Errorf("BuildInfo() asked git again: %q, want the run's first answer %q", rev, first)
	}
	e2 := &Env{File: &taskfile.File{Dir: dir}, Revision: "abc"}
	if rev, src := e2.BuildInfo(); rev != "abc" || src != "https://example.com/org/repo" {
		t.Errorf("with GIT_SHA set: BuildInfo() = %q, %q; want abc and git's source", rev, src)
	}
}
