package project

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/engine/vars"
	"github.com/dtask-dev/dtask/internal/compose"
	"github.com/dtask-dev/dtask/targets"
)

// Project is a loaded, resolved task file and what a run of it needs.
type Project struct {
	Raw      *taskfile.File // as written
	File     *taskfile.File // interpolated
	Scope    *vars.Scope
	EnvName  string
	CmdGoals []string
	Mask     *ui.Masker
	IsCI     bool
	Env      *targets.Env
	Root     string // the project: what the task file may read without outside = true
	opts     Options
	// Index is the stat index, opened by the first runner and shared by
	// the runs of a watch session (a reloaded task file takes it over).
	Index *cache.Index
}

// Load finds, loads, validates and resolves the task file.
func Load(o Options, mask *ui.Masker) (*Project, error) {
	path := o.File
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if path, err = taskfile.Find(wd); err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
	}
	composeFiles := compose.Loader{Warn: func(msg string) {
		fmt.Fprintln(os.Stderr, ui.EscapeText(mask.Mask("dtask: warning: "+msg)))
	}}
	raw, err := taskfile.LoadWith(path, taskfile.Options{Compose: composeFiles.Services, Parsed: parsedCache(path)})
	if err != nil {
		return nil, err
	}
	cmdVars := o.Vars
	p := &Project{Raw: raw, CmdGoals: o.Goals, Mask: mask, opts: o}
	if err := p.chooseEnv(o.Env); err != nil {
		return nil, err
	}
	p.Scope = newScope(raw, cmdVars, p.EnvName)
	if o.ListOnly {
		p.File = listView(raw, p.Scope)
		return p, nil
	}
	if v, _, _ := p.Scope.Lookup("CI"); v == "true" {
		p.IsCI = true
	}
	needed := p.neededTargets()
	p.File, err = taskfile.ResolveTargets(raw, secretScope{p.Scope, newSecretScope(raw, cmdVars, p.EnvName)}, needed)
	if err == nil {
		p.Root = taskfile.ProjectRoot(raw)
		err = joinErrors(joinErrors(taskfile.CheckPaths(p.File, p.Root, needed), taskfile.CheckNUL(p.File)),
			taskfile.CheckImages(p.File, raw, p.lookup, p.willRun(needed)))
	}
	if err != nil {
		return nil, err
	}
	p.Env = p.targetsEnv()
	// Cache volumes are kept beside the images, where the CI templates
	// cache (docs/services.md).
	p.Env.VolumeArchives = filepath.Join(p.BulkDir(), "volumes")
	return p, nil
}

// willRun are those of the needed targets that when conditions leave in
// the run: a publish target's tag made from ${GIT_BRANCH} may be no valid
// reference on the branches its when.branch skips it on.
func (p *Project) willRun(needed []string) []string {
	branch, _ := p.lookup("GIT_BRANCH")
	skip := p.File.WillSkip(needed, branch, p.EnvName)
	if len(skip) == 0 {
		return needed
	}
	out := make([]string, 0, len(needed))
	for _, n := range needed {
		if !skip[n] {
			out = append(out, n)
		}
	}
	return out
}

// lookup is a variable's value, for errors that name the variables a
// value was made from.
func (p *Project) lookup(name string) (string, bool) {
	v, ok, err := p.Scope.Lookup(name)
	return v, ok && err == nil
}

// neededGoals are the goals whose targets and services must resolve:
// none for listing, graphing and cleaning.
func (p *Project) neededGoals() []string {
	if p.opts.ListOnly || p.opts.NoGoals {
		return nil
	}
	if len(p.CmdGoals) == 0 && p.Raw.Default != "" {
		return []string{p.Raw.Default}
	}
	return p.CmdGoals
}

// neededTargets are the targets this invocation may run: the needed goals
// and their deps (none for -l, --graph and the like). Deps are never
// interpolated, so the file as written gives the same closure.
func (p *Project) neededTargets() []string {
	names, err := p.Raw.Closure(p.neededGoals())
	if err != nil || names == nil {
		return []string{} // an unknown goal is reported elsewhere
	}
	return names
}

// chooseEnv picks [environments.NAME] from --env or DTASK_ENV.
func (p *Project) chooseEnv(flag string) error {
	name := flag
	if name == "" {
		name = os.Getenv("DTASK_ENV")
	}
	if name == "" {
		return nil
	}
	if _, ok := p.Raw.Environments[name]; !ok {
		names := make([]string, 0, len(p.Raw.Environments))
		for n := range p.Raw.Environments {
			names = append(names, n)
		}
		sort.Strings(names)
		defined := "none are defined"
		if len(names) > 0 {
			defined = "defined: " + strings.Join(names, ", ")
		}
		return &UsageError{Msg: fmt.Sprintf("unknown environment %q (%s)", name, defined)}
	}
	p.EnvName = name
	return nil
}

// Goals are the targets named on the command line, or the default.
func (p *Project) Goals() ([]string, error) {
	goals := p.CmdGoals
	if len(goals) == 0 {
		if p.File.Default == "" {
			return nil, &UsageError{Msg: "no target named and the task file has no default; targets: " + strings.Join(p.File.TargetNames(), ", ")}
		}
		goals = []string{p.File.Default}
	}
	for _, g := range goals {
		if _, ok := p.File.Targets[g]; !ok {
			msg := fmt.Sprintf("unknown target %q", g)
			if s := taskfile.Suggest(g, p.File.TargetNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, &UsageError{Msg: msg}
		}
	}
	return goals, nil
}
