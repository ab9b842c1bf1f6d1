package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
}

// load finds, loads, validates and resolves the task file.
func load(c *cli, stderr io.Writer) (*project, error) {
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
	p := &project{raw: raw, cmdGoals: goals, mask: &ui.Masker{}}
	if err := p.chooseEnv(c.Env); err != nil {
		return nil, err
	}
	p.scope = newScope(raw, cmdVars, p.envName)
	if v, _, _ := p.scope.Lookup("CI"); v == "true" {
		p.isCI = true
	}
	p.file, err = taskfile.Resolve(raw, secretScope{p.scope, newSecretScope(raw, cmdVars, p.envName)})
	if err = p.relevant(err, c); err != nil {
		return nil, err
	}
	p.env = p.targetsEnv(c)
	return p, nil
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

// newScope layers variables as SPEC §1 orders them: command line, the
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

func (p *project) runner(c *cli, disp ui.Display) (*engine.Runner, error) {
	store, err := cache.OpenStore(p.stateDir())
	if err != nil {
		return nil, fmt.Errorf("opening the cache: %w", err)
	}
	if !c.NoCache && p.env.Images == nil {
		ic, err := p.imageCache(store, disp)
		if err != nil {
			return nil, err
		}
		p.env.UseImageCache(ic)
	}
	p.env.LoadCachedBuilds = p.loadCachedBuilds(c)
	branch, _, _ := p.scope.Lookup("GIT_BRANCH")
	force := map[string]bool{}
	if c.Force {
		for _, g := range p.cmdGoals {
			force[g] = true
		}
		if len(p.cmdGoals) == 0 {
			force[p.file.Default] = true
		}
	}
	return &engine.Runner{
		File:     p.file,
		Store:    store,
		Index:    cache.OpenIndex(store.IndexPath()),
		Actions:  p.env.Action,
		Reporter: disp,
		Branch:   branch,
		EnvName:  p.envName,
		Redact:   p.mask.Mask,
		StateDir: store.Dir(),
		Opts:     engine.Options{Jobs: c.Jobs, Force: force, NoCache: c.NoCache, DryRun: c.DryRun, Verbose: c.Verbose},
	}, nil
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
	}
	e.Secret = p.secret
	e.Revision, _, _ = p.scope.Lookup("GIT_SHA")
	for name := range p.file.Secrets {
		if v, err := p.secret(name); err == nil {
			p.mask.Add(v)
		}
	}
	return e
}

// secret reads a [secrets] value from its env var or file.
func (p *project) secret(name string) (string, error) { return readSecret(p.file, name) }

// readSecret reads a [secrets] value of f from its env var or file.
func readSecret(f *taskfile.File, name string) (string, error) {
	ref, ok := f.Secrets[name]
	if !ok {
		return "", fmt.Errorf("unknown secret %q", name)
	}
	if ref.Env != "" {
		v, ok := os.LookupEnv(ref.Env)
		if !ok {
			return "", fmt.Errorf("secret %s: environment variable %s is not set", name, ref.Env)
		}
		return v, nil
	}
	path := ref.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// cleanup removes what this run created in the engine, even after Ctrl-C.
func (p *project) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = p.env.Cleanup(ctx)
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
