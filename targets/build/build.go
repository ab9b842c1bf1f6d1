package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
)

// buildAction builds an image with the engine's builder.
type buildAction struct {
	e *targets.Env
	t *taskfile.Target
	b *taskfile.Build

	mu  sync.Mutex
	ctx *buildctx.Context // the context Plan hashed, sent as is by Run
	// local lists the FROM images Plan found in the engine, which Run
	// then need not ask for again before the build.
	local map[string]bool
}

func New(e *targets.Env, t *taskfile.Target) engine.Action {
	return &buildAction{e: e, t: t, b: t.Build}
}

func (a *buildAction) Kind() string { return "build" }

// setLocal records the FROM images Plan found in the engine.
func (a *buildAction) setLocal(refs map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.local = refs
}

// hadLocal says Plan found FROM image ref in the engine.
func (a *buildAction) hadLocal(ref string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.local[ref]
}

// buildPath resolves p against base unless it is absolute.
func buildPath(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// loadContext lists the build context, or returns the one Plan listed so
// that what is sent is what was hashed.
func (a *buildAction) loadContext(fresh bool) (*buildctx.Context, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx != nil && !fresh {
		return a.ctx, nil
	}
	base := a.e.File.TargetDir(a.t)
	dir := buildPath(base, a.b.Context)
	df := ""
	if a.b.Dockerfile != "" {
		df = buildPath(base, a.b.Dockerfile)
	}
	c, err := buildctx.Load(dir, df, append([]string{a.e.StateDir}, a.e.Written...)...)
	if err != nil {
		return nil, err
	}
	a.ctx = c
	return c, nil
}

// builder says which builder to use, with a note for the output when the
// choice is not the obvious one.
func (a *buildAction) builder(ctx context.Context, c *buildctx.Context) (buildkit bool, note string, err error) {
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return false, "", err
	}
	have, err := cli.HasBuildKit(ctx)
	if err != nil {
		return false, "", err
	}
	switch a.b.Builder {
	case "classic":
		buildkit = false
	case "buildkit":
		if !have {
			return false, "", fmt.Errorf("builder = \"buildkit\" but the engine at %s (API %s) has no BuildKit", cli.Host, cli.APIVersion)
		}
		buildkit = true
	case "":
		buildkit = have
	default:
		return false, "", fmt.Errorf("unknown builder %q (want \"buildkit\" or \"classic\")", a.b.Builder)
	}
	if len(a.b.Secrets) > 0 && !buildkit {
		return false, "", fmt.Errorf("build secrets need BuildKit (RUN --mount=type=secret), but the %s", classicReason(a.b.Builder))
	}
	// BuildKit reads the Dockerfile from its own folder and applies
	// .dockerignore to the context itself (see send), so a Dockerfile
	// outside the context or hidden by .dockerignore stays out of COPY.
	return buildkit, "", nil
}

// needsBuildKit guesses from the Dockerfile's text whether it uses syntax
// only BuildKit understands.
func needsBuildKit(dockerfile string) bool {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		return true
	}
	src := strings.ToLower(string(b))
	for _, s := range []string{"--mount", "--link", "--network", "--security", "# syntax", "#syntax", "<<"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	return false
}

func classicReason(forced string) string {
	if forced == "classic" {
		return "target sets builder = \"classic\""
	}
	return "engine has no BuildKit"
}

// tags returns the build's tags without empty ones.
func (a *buildAction) tags() []string {
	var out []string
	for _, t := range a.b.Tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
