package vars

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
)

// A task file from a cloned or downloaded repository must not run code
// when dtask merely reads GIT_DIRTY or VERSION (dtask -n does): git
// honours the repository's own .git/config, where core.fsmonitor, hook
// paths and filter drivers name commands that `git status` would run.
// Every git command dtask runs therefore gets these settings on its
// command line, which outrank any config file, and runs with the git
// folder and work tree dtask found itself, so that core.worktree cannot
// point git outside the project.

// safeGitConfig turns off the settings that run commands in what dtask
// asks of git (status, describe, rev-parse, symbolic-ref).
func safeGitConfig() []string {
	return []string{
		"-c", "core.fsmonitor=false",
		"-c", "core.hooksPath=/dev/null",
		"-c", "diff.external=",
		"-c", "core.pager=cat",
		"-c", "submodule.recurse=false",
	}
}

// repoFilters lists the filter drivers the repository's own config (not
// the user's global or system config, which the user chose) defines, so
// that each can be turned off: a clean filter runs whenever git status
// re-reads a file whose stat changed.
func repoFilters(ctx context.Context, r *gitRepo) []string {
	cmd := exec.CommandContext(ctx, "git", append(safeGitConfig(),
		"config", "--show-scope", "--name-only", "--get-regexp", `^filter\.`)...)
	cmd.Dir, cmd.Env = r.workTree, gitCommandEnv(r)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil // none defined (exit 1), or git too old to tell
	}
	var args []string
	seen := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		scope, key, ok := strings.Cut(line, "\t")
		if !ok || scope != "local" && scope != "worktree" {
			continue
		}
		i, j := strings.Index(key, "."), strings.LastIndex(key, ".")
		if i < 0 || j <= i || seen[key[i+1:j]] {
			continue
		}
		name := key[i+1 : j]
		seen[name] = true
		for _, k := range []string{"clean", "smudge", "process"} {
			args = append(args, "-c", "filter."+name+"."+k+"=")
		}
		args = append(args, "-c", "filter."+name+".required=false")
	}
	return args
}

// gitCommandEnv is the environment of dtask's git commands: the repository dtask
// found, no optional locks (status must never get in the way of the
// user's own git), no pager, no prompts.
func gitCommandEnv(r *gitRepo) []string {
	env := make([]string, 0, len(os.Environ())+5)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_DIR=") && !strings.HasPrefix(kv, "GIT_WORK_TREE=") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_DIR="+r.gitDir, "GIT_WORK_TREE="+r.workTree,
		"GIT_OPTIONAL_LOCKS=0", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0")
}
