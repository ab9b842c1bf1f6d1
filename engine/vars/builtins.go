package vars

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// BuiltinNames lists the variables the built-in layer defines.
var BuiltinNames = []string{
	"GIT_SHA", "GIT_SHORT_SHA", "GIT_BRANCH", "GIT_BRANCH_SLUG", "GIT_TAG", "GIT_DIRTY", "VERSION",
	"BUILD_NUM", "CI", "CI_PROVIDER", "DTASK_ENV", "TASKFILE_DIR",
}

// gitTimeout bounds the git commands run for GIT_DIRTY and VERSION.
const gitTimeout = 30 * time.Second

// Builtins is the "built-in" layer for a task file in taskfileDir, with git
// state read from the repository containing dir and CI details from getenv
// (nil: os.Getenv). Each value is computed when first looked up, once: the
// commit and branch from the .git folder directly, GIT_DIRTY and VERSION by
// running git. Outside a repository (or where git cannot tell) the git values
// come from the CI provider's variables, else are empty, GIT_DIRTY "false".
// A detached HEAD (the usual CI checkout) takes GIT_BRANCH from the CI.
// VERSION without a usable git binary falls back to GIT_TAG, else GIT_SHORT_SHA.
func Builtins(dir string, getenv func(string) string, dtaskEnv, taskfileDir string) Layer {
	if getenv == nil {
		getenv = os.Getenv
	}
	ci := DetectCI(getenv)
	b := &builtins{dir: dir, ci: ci}
	return Layer{
		Name: "built-in",
		Vars: map[string]string{
			"BUILD_NUM":    ci.BuildNum,
			"CI":           boolString(ci.IsCI),
			"CI_PROVIDER":  ci.Provider,
			"DTASK_ENV":    dtaskEnv,
			"TASKFILE_DIR": taskfileDir,
		},
		Func: b.lookup,
	}
}

type builtins struct {
	dir string
	ci  CIInfo

	headOnce     sync.Once
	repo         *gitRepo // nil outside a repository
	sha, branch  string
	headFallback bool // HEAD needs the git binary (reftable)

	tagOnce sync.Once
	tag     string

	dirtyOnce sync.Once
	dirty     string

	versionOnce sync.Once
	version     string

	safeOnce sync.Once
	safe     []string // git arguments that keep the repository's config from running commands
}

func (b *builtins) lookup(name string) (string, bool) {
	switch name {
	case "GIT_SHA":
		return b.gitSHA(), true
	case "GIT_SHORT_SHA":
		return short(b.gitSHA()), true
	case "GIT_BRANCH":
		return b.gitBranch(), true
	case "GIT_BRANCH_SLUG":
		return Slug(b.gitBranch()), true
	case "GIT_TAG":
		return b.gitTag(), true
	case "GIT_DIRTY":
		return b.gitDirty(), true
	case "VERSION":
		return b.gitVersion(), true
	}
	return "", false
}

func (b *builtins) readHead() {
	b.headOnce.Do(func() {
		r, ok := findRepo(b.dir)
		if !ok {
			return
		}
		b.repo = r
		sha, branch, err := r.head()
		if err == errNeedGit {
			b.headFallback = true
			sha, _ = b.git("rev-parse", "--verify", "-q", "HEAD")
			branch, _ = b.git("symbolic-ref", "--short", "-q", "HEAD")
		} else if err != nil {
			sha, branch = "", ""
		}
		b.sha, b.branch = sha, branch
	})
}

func (b *builtins) gitBranch() string {
	b.readHead()
	if b.branch != "" {
		return b.branch
	}
	return b.ci.Branch
}

func (b *builtins) gitSHA() string {
	b.readHead()
	if b.sha != "" {
		return b.sha
	}
	return b.ci.SHA
}

func (b *builtins) gitTag() string {
	b.tagOnce.Do(func() {
		if b.ci.Tag != "" { // the tag this build was triggered by
			b.tag = b.ci.Tag
			return
		}
		b.readHead()
		if b.repo == nil || b.sha == "" {
			return
		}
		tag, err := b.repo.tagAt(b.sha)
		if err == errNeedGit || b.headFallback {
			tag, _ = b.git("describe", "--tags", "--exact-match", "HEAD")
		}
		b.tag = tag
	})
	return b.tag
}

func (b *builtins) gitDirty() string {
	b.dirtyOnce.Do(func() {
		b.dirty = "false"
		b.readHead()
		if b.repo == nil {
			return
		}
		// Untracked files do not count: .dtask/ itself may be one.
		// Submodules count by the commit they are at: their own work
		// trees would take another git, with their own config.
		out, err := b.git("status", "--porcelain", "--untracked-files=no", "--ignore-submodules=dirty")
		b.dirty = boolString(err == nil && out != "")
	})
	return b.dirty
}

func (b *builtins) gitVersion() string {
	b.versionOnce.Do(func() {
		b.readHead()
		if b.repo != nil {
			if v, err := b.git("describe", "--tags", "--always"); err == nil && v != "" {
				b.version = v
				return
			}
		}
		if t := b.gitTag(); t != "" {
			b.version = t
			return
		}
		b.version = short(b.gitSHA())
	})
	return b.version
}

// git runs git in the repository and returns its trimmed output, with
// the repository's own config kept from running anything (gitsafe.go).
func (b *builtins) git(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	if b.repo == nil {
		return "", errors.New("not in a git repository")
	}
	b.safeOnce.Do(func() { b.safe = append(safeGitConfig(), repoFilters(ctx, b.repo)...) })
	cmd := exec.CommandContext(ctx, "git", append(slices.Clip(b.safe), args...)...)
	cmd.Dir, cmd.Env = b.repo.workTree, gitCommandEnv(b.repo)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func boolString(v bool) string {
	if v {
		return "true"
	}
	return "false"
}
