package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/engine/vars"
	"github.com/dtask-dev/dtask/internal/compose"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// project is a loaded, resolved task file and what a run of it needs.
type project struct {
	raw      *taskfile.File // as written
	file     *taskfile.File // interpolated
	scope    *vars.Scope
	envName  string
	cmdGoals []string
	mask     *ui.Masker
	isCI     bool
	env      *targets.Env
	root     string // the project: what the task file may read without outside = true
	// index is the stat index, opened by the first runner and shared by
	// the runs of a watch session (a reloaded task file takes it over).
	index *cache.Index
}

// load finds, loads, validates and resolves the task file.
func load(c *cli, mask *ui.Masker) (*project, error) {
	path := c.File
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if path, err = taskfile.Find(wd); err != nil {
			return nil, &usageError{msg: err.Error()}
		}
	}
	raw, err := taskfile.LoadWith(path, taskfile.Options{Compose: compose.Services})
	if err != nil {
		return nil, err
	}
	goals, cmdVars, err := split(c.Args)
	if err != nil {
		return nil, err
	}
	p := &project{raw: raw, cmdGoals: goals, mask: mask}
	if err := p.chooseEnv(c.Env); err != nil {
		return nil, err
	}
	p.scope = newScope(raw, cmdVars, p.envName)
	if c.List || c.Graph != "" {
		p.file = listView(raw, p.scope)
		return p, nil
	}
	if v, _, _ := p.scope.Lookup("CI"); v == "true" {
		p.isCI = true
	}
	p.file, err = taskfile.ResolveFor(raw, secretScope{p.scope, newSecretScope(raw, cmdVars, p.envName)}, p.neededGoals(c))
	if err == nil {
		p.root = taskfile.ProjectRoot(raw)
		err = joinErrors(taskfile.CheckPaths(p.file, p.root, p.neededTargets(c)), taskfile.CheckNUL(p.file))
	}
	if err != nil {
		return nil, err
	}
	p.env = p.targetsEnv(c)
	return p, nil
}

// neededGoals are the goals whose targets and services must resolve:
// none for listing, graphing and cleaning.
func (p *project) neededGoals(c *cli) []string {
	if c.List || c.Graph != "" || c.Clean || c.Complete != "" {
		return nil
	}
	if len(p.cmdGoals) == 0 && p.raw.Default != "" {
		return []string{p.raw.Default}
	}
	return p.cmdGoals
}

// neededTargets are the targets this invocation may run: the needed goals
// and their deps (none for -l, --graph and the like).
func (p *project) neededTargets(c *cli) []string {
	names, err := p.file.Closure(p.neededGoals(c))
	if err != nil || names == nil {
		return []string{} // an unknown goal is reported elsewhere
	}
	return names
}

// chooseEnv picks [environments.NAME] from --env or DTASK_ENV.
func (p *project) chooseEnv(flag string) error {
	name := flag
	if name == "" {
		name = os.Getenv("DTASK_ENV")
	}
	if name == "" {
		return nil
	}
	if _, ok := p.raw.Environments[name]; !ok {
		names := make([]string, 0, len(p.raw.Environments))
		for n := range p.raw.Environments {
			names = append(names, n)
		}
		sort.Strings(names)
		defined := "none are defined"
		if len(names) > 0 {
			defined = "defined: " + strings.Join(names, ", ")
		}
		return &usageError{msg: fmt.Sprintf("unknown environment %q (%s)", name, defined)}
	}
	p.envName = name
	return nil
}

// newScope layers variables as docs/taskfile.md orders them: command line, the
// chosen environment, [vars], built-ins, process environment.
func newScope(f *taskfile.File, cmdVars map[string]string, envName string) *vars.Scope {
	return vars.NewScope(scopeLayers(f, cmdVars, envName)...)
}

func scopeLayers(f *taskfile.File, cmdVars map[string]string, envName string) []vars.Layer {
	layers := []vars.Layer{{Name: "command line", Vars: cmdVars, Template: true}}
	if envName != "" {
		layers = append(layers, vars.Layer{Name: "environment " + envName, Vars: f.Environments[envName], Template: true})
	}
	layers = append(layers,
		vars.Layer{Name: "vars", Vars: f.Vars, Template: true},
		vars.Builtins(f.Dir, os.Getenv, envName, f.Dir),
		vars.Layer{Name: "process environment", Func: os.LookupEnv},
	)
	return layers
}

// secretScope expands ${NAME} with [secrets] names too where a secret
// may go (the env of targets and services), and without them elsewhere.
type secretScope struct {
	*vars.Scope
	secrets *vars.Scope
}

func (s secretScope) ExpandSecret(v string) (string, error) { return s.secrets.Expand(v) }

// newSecretScope is newScope with the [secrets] values first: in an env
// value, ${NAME} of a secret is the secret.
func newSecretScope(f *taskfile.File, cmdVars map[string]string, envName string) *vars.Scope {
	secrets := vars.Layer{Name: "secrets", Func: func(name string) (string, bool) {
		if _, ok := f.Secrets[name]; !ok {
			return "", false
		}
		v, err := readSecret(f, name)
		return v, err == nil
	}}
	return vars.NewScope(append([]vars.Layer{secrets}, scopeLayers(f, cmdVars, envName)...)...)
}

// goals are the targets named on the command line, or the default.
func (p *project) goals() ([]string, error) {
	goals := p.cmdGoals
	if len(goals) == 0 {
		if p.file.Default == "" {
			return nil, &usageError{msg: "no target named and the task file has no default; targets: " + strings.Join(p.file.TargetNames(), ", ")}
		}
		goals = []string{p.file.Default}
	}
	for _, g := range goals {
		if _, ok := p.file.Targets[g]; !ok {
			msg := fmt.Sprintf("unknown target %q", g)
			if s := taskfile.Suggest(g, p.file.TargetNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, &usageError{msg: msg}
		}
	}
	return goals, nil
}

// stateDir is where records, the stat index and the image cache live.
func (p *project) stateDir() string {
	dir := os.Getenv("DTASK_CACHE_DIR")
	if dir == "" {
		dir = p.file.CacheDir
	}
	if dir == "" {
		dir = ".dtask"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.file.Dir, dir)
	}
	return dir
}

// bulkDir is where images and layers live: beside the records when the
// user moved the state folder (DTASK_CACHE_DIR or cache_dir, which CI
// recipes cache whole), else in the user's cache folder, per project, so
// that the work tree (a build context, an editor's index, a backup)
// never carries them.
func (p *project) bulkDir() string {
	if os.Getenv("DTASK_CACHE_DIR") != "" || p.file.CacheDir != "" {
		return p.stateDir()
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		if d, err := os.UserCacheDir(); err == nil {
			base = d
		} else {
			return p.stateDir()
		}
	}
	return filepath.Join(base, "dtask", p.env.Project)
}

// openStore opens the state folder, refusing one dtask did not make with
// an error that names where it was chosen.
func (p *project) openStore() (*cache.Store, error) {
	store, err := cache.OpenStore(p.stateDir())
	switch {
	case err == nil:
		return store, nil
	case !errors.Is(err, cache.ErrNotStateDir):
		return nil, fmt.Errorf("opening the cache: %w", err)
	case os.Getenv("DTASK_CACHE_DIR") != "":
		return nil, &usageError{msg: "DTASK_CACHE_DIR: " + err.Error()}
	case p.file.CacheDir != "":
		return nil, taskfile.Errors{p.file.ErrorAt("cache_dir", "cache_dir = %q: %v", p.file.CacheDir, err)}
	}
	return nil, err
}

// runner makes the engine for one run; shared is handed to every action
// (watch mode's long-lived services), nil in a plain run.
func (p *project) runner(c *cli, disp ui.Display, shared any) (*engine.Runner, error) {
	store, err := p.openStore()
	if err != nil {
		return nil, err
	}
	if p.index == nil {
		p.index = cache.OpenIndex(store.IndexPath())
	}
	if !c.NoCache && p.env.Images == nil {
		ic, err := p.imageCache(store, disp)
		if err != nil {
			return nil, err
		}
		p.env.UseImageCache(ic)
		p.env.Layers = ocicache.Open(p.layoutDir(), store)
	}
	p.env.LoadCachedBuilds = p.loadCachedBuilds(c)
	maxSize, err := p.maxSize("")
	if err != nil {
		return nil, err
	}
	branch, _, _ := p.scope.Lookup("GIT_BRANCH")
	force := map[string]bool{}
	if c.Force {
		goals := p.cmdGoals
		if len(goals) == 0 {
			goals = []string{p.file.Default}
		}
		p.forceTargets(goals, force)
	}
	return &engine.Runner{
		File:         p.file,
		Store:        store,
		Index:        p.index,
		Shared:       shared,
		Actions:      p.env.Action,
		Reporter:     disp,
		Branch:       branch,
		EnvName:      p.envName,
		Redact:       p.mask.Mask,
		Root:         p.root,
		StateDir:     store.Dir(),
		MaxStateSize: maxSize,
		Written:      p.env.Written,
		Opts:         engine.Options{Jobs: c.Jobs, Force: force, NoCache: c.NoCache, DryRun: c.DryRun, Verbose: c.Verbose},
	}, nil
}

// forceTargets marks the targets --force re-runs: the named ones and, for
// a group, its members (a group has nothing of its own to re-run), down
// through groups of groups.
func (p *project) forceTargets(names []string, force map[string]bool) {
	for _, n := range names {
		if force[n] {
			continue
		}
		force[n] = true
		if t := p.file.Targets[n]; t != nil && t.ActionKind() == "group" {
			p.forceTargets(t.Deps, force)
		}
	}
}

// targetsEnv is what the actions share: identity for labels and secrets.
func (p *project) targetsEnv(c *cli) *targets.Env {
	sum := sha256.Sum256([]byte(p.file.Path))
	host, _ := os.Hostname()
	e := &targets.Env{
		File:     p.file,
		Project:  hex.EncodeToString(sum[:6]),
		RunID:    fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()),
		Verbose:  c.Verbose,
		Mask:     p.mask.Add,
		StateDir: p.stateDir(),
		Root:     p.root,
	}
	if c.JUnit != "" {
		if abs, err := filepath.Abs(c.JUnit); err == nil {
			e.Written = []string{abs}
		}
	}
	e.Secret = p.secret
	e.Revision, _, _ = p.scope.Lookup("GIT_SHA")
	for _, name := range slices.Sorted(maps.Keys(p.file.Secrets)) {
		v, err := p.secret(name)
		if err != nil {
			continue
		}
		if v != "" && ui.Short(v) {
			fmt.Fprintf(os.Stderr, "dtask: warning: secret %s is shorter than %d characters: it is not masked in output\n", name, ui.MinMaskLen)
		}
		p.mask.Add(v)
	}
	return e
}

// cleanup removes what this run created in the engine, even after Ctrl-C.
func (p *project) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = p.env.Cleanup(ctx)
}

// finishSaves waits for the image cache's background saves in CI, whose
// next job starts on a fresh engine with only the cache folder. Elsewhere
// the engine keeps what the run built, and the next build saves again what
// a stopped save left out, so dtask exits without waiting; Ctrl-C stops
// them everywhere.
func (p *project) finishSaves(ctx context.Context) {
	p.env.FinishSaves(ctx.Err() != nil || !p.isCI)
}

// loadCachedBuilds says which cached build targets must have their image
// in the engine even though nothing dtask runs consumes it: the goals
// (`dtask image && docker run app:test`), and those a host command or a
// group depends on. Images that only run, push, deploy or services use are
// loaded by them when they need them, so that a fresh engine loads nothing
// for targets that are up to date. A dry run loads nothing.
func (p *project) loadCachedBuilds(c *cli) func(string) bool {
	if c.DryRun {
		return func(string) bool { return false }
	}
	need := map[string]bool{}
	goals, _ := p.goals()
	for _, g := range goals {
		need[g] = true
	}
	for _, t := range p.file.Targets {
		if k := t.ActionKind(); k == "sh" || k == "group" {
			for _, d := range t.Deps {
				need[d] = true
			}
		}
	}
	return func(target string) bool { return need[target] }
}
