package project

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
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/kinds"
	"github.com/dtask-dev/dtask/targets/ocicache"
	"github.com/dtask-dev/dtask/targets/run"
)

// Runner makes the engine for one run; shared is handed to every action
// (watch mode's long-lived services), nil in a plain run.
func (p *Project) Runner(disp ui.Display, shared any) (*engine.Runner, error) {
	c := p.opts
	store, err := p.OpenStore()
	if err != nil {
		return nil, err
	}
	if p.Index == nil {
		p.Index = cache.OpenIndex(store.IndexPath())
	}
	if !c.NoCache && p.Env.Images == nil {
		ic, err := p.ImageCache(store, disp)
		if err != nil {
			return nil, err
		}
		p.Env.UseImageCache(ic)
		p.Env.Layers = ocicache.Open(p.LayoutDir(), store)
	}
	goals, _ := p.Goals()
	p.Env.LoadCachedBuilds = targets.LoadCachedBuildsFor(p.File, goals, p.opts.DryRun)
	maxSize, err := p.MaxSize("")
	if err != nil {
		return nil, err
	}
	branch, _, _ := p.Scope.Lookup("GIT_BRANCH")
	force := map[string]bool{}
	if c.Force {
		goals := p.CmdGoals
		if len(goals) == 0 {
			goals = []string{p.File.Default}
		}
		p.forceTargets(goals, force)
	}
	return &engine.Runner{
		File:         p.File,
		Store:        store,
		Index:        p.Index,
		Shared:       shared,
		Actions:      p.Env.Action,
		Reporter:     disp,
		Branch:       branch,
		EnvName:      p.EnvName,
		Redact:       p.Mask.Mask,
		Root:         p.Root,
		StateDir:     store.Dir(),
		MaxStateSize: maxSize,
		Written:      p.Env.Written,
		Opts:         engine.Options{Jobs: c.Jobs, Force: force, NoCache: c.NoCache, DryRun: c.DryRun, Verbose: c.Verbose},
	}, nil
}

// forceTargets marks the targets --force re-runs: the named ones and, for
// a group, its members (a group has nothing of its own to re-run), down
// through groups of groups.
func (p *Project) forceTargets(names []string, force map[string]bool) {
	for _, n := range names {
		if force[n] {
			continue
		}
		force[n] = true
		if t := p.File.Targets[n]; t != nil && t.ActionKind() == "group" {
			p.forceTargets(t.Deps, force)
		}
	}
}

// targetsEnv is what the actions share: identity for labels and secrets.
func (p *Project) targetsEnv() *targets.Env {
	c := p.opts
	sum := sha256.Sum256([]byte(p.File.Path))
	host, _ := os.Hostname()
	e := &targets.Env{
		File:     p.File,
		Project:  hex.EncodeToString(sum[:6]),
		RunID:    fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()),
		Verbose:  c.Verbose,
		Mask:     p.Mask.Add,
		Redact:   p.Mask.Mask,
		StateDir: p.StateDir(),
		Root:     p.Root,
		Kinds:    kinds.All(),
	}
	if c.JUnit != "" {
		if abs, err := filepath.Abs(c.JUnit); err == nil {
			e.Written = []string{abs}
		}
	}
	e.Secret = p.Secret
	e.Revision, _, _ = p.Scope.Lookup("GIT_SHA")
	for _, name := range slices.Sorted(maps.Keys(p.File.Secrets)) {
		v, err := p.Secret(name)
		if err != nil {
			continue
		}
		if v != "" && ui.Short(v) {
			fmt.Fprintf(os.Stderr, "dtask: warning: secret %s is shorter than %d characters: it is not masked in output\n", name, ui.MinMaskLen)
		}
		p.Mask.Add(v)
	}
	return e
}

// Cleanup removes what this run created in the engine, even after Ctrl-C.
func (p *Project) Cleanup() {
	ctx, cancel := targets.Detached(context.Background())
	defer cancel()
	_ = p.Env.Cleanup(ctx)
}

// CloseServices removes the services of pool at the end of a run or a
// watch session, even after Ctrl-C. Its error is masked: the callers print
// it after their display has closed, and an engine's message can quote a
// service's definition, secrets included.
func (p *Project) CloseServices(pool *run.ServicePool) error {
	ctx, cancel := targets.Detached(context.Background())
	defer cancel()
	if err := pool.Close(ctx); err != nil {
		return errors.New(p.Mask.Mask(err.Error()))
	}
	return nil
}

// FinishSaves waits for the image cache's background saves in CI, whose
// next job starts on a fresh engine with only the cache folder. Elsewhere
// the engine keeps what the run built, and the next build saves again what
// a stopped save left out, so dtask exits without waiting; Ctrl-C stops
// them everywhere.
func (p *Project) FinishSaves(ctx context.Context) {
	p.Env.FinishSaves(ctx.Err() != nil || !p.IsCI)
}
