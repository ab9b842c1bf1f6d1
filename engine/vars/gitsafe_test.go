package vars

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGitRunsNoRepositoryCommands: a repository whose own .git/config
// names an fsmonitor hook and a clean filter (as a downloaded repository
// can) gets neither run when dtask reads GIT_DIRTY and VERSION.
func TestGitRunsNoRepositoryCommands(t *testing.T) {
	gitEnv(t)
	dir := newRepo(t)
	commit(t, dir, ".gitattributes", "*.txt filter=evil\n")
	ran := filepath.Join(t.TempDir(), "ran")
	hook := filepath.Join(t.TempDir(), "hook")
	script := "#!/bin/sh\necho \"$0 $*\" >> " + ran + "\ncat\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "config", "core.fsmonitor", hook)
	git(t, dir, "config", "filter.evil.clean", hook)
	git(t, dir, "config", "filter.evil.required", "true")
	// A changed stat makes git status re-read a.txt through its filter.
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := builtinValues(t, dir, local)
	if b, err := os.ReadFile(ran); err == nil {
		t.Fatalf("git ran the repository's commands:\n%s", b)
	}
	if got["GIT_DIRTY"] != "true" {
		t.Errorf("GIT_DIRTY = %q, want true (a.txt changed)", got["GIT_DIRTY"])
	}
	if got["VERSION"] == "" {
		t.Errorf("VERSION is empty")
	}
}
