package targets

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// When a build target is up to date but its image is in the image cache
// only (a CI job on a fresh engine), loading it costs a transfer that
// nothing may need: run, push, deploy and service users load the image by
// the ID the build recorded (EnsureImage), so a build used only by them
// stays unloaded. What the engine cannot see is a user outside Docker's
// view: a goal named on the command line, or an sh target running
// `docker run app:test`. Env.LoadCachedBuilds (made by LoadCachedBuildsFor)
// names those targets; for them the image is loaded, with the build's tags,
// as soon as the target is found up to date.

// LoadCachedBuildsFor says which cached build targets of f must have their
// image in the engine even though nothing dtask runs consumes it: the goals
// (`dtask image && docker run app:test`), and those a host command or a
// group depends on. Images that only run, push, deploy or services use are
// loaded by them when they need them, so that a fresh engine loads nothing
// for targets that are up to date. A dry run loads nothing.
func LoadCachedBuildsFor(f *taskfile.File, goals []string, dryRun bool) func(target string) bool {
	if dryRun {
		return func(string) bool { return false }
	}
	need := map[string]bool{}
	for _, g := range goals {
		need[g] = true
	}
	for _, t := range f.Targets {
		if k := t.ActionKind(); k == "sh" || k == "group" {
			for _, d := range t.Deps {
				need[d] = true
			}
		}
	}
	return func(target string) bool { return need[target] }
}

// loadCachedBuilds reports whether target's image is loaded in Check.
func (e *Env) loadCachedBuilds(target string) bool {
	return e.LoadCachedBuilds != nil && e.LoadCachedBuilds(target)
}

// CachedBuild decides Check for build target whose image id the engine
// lacks and the image cache holds: up to date, loaded now (with tags) if
// the policy asks.
func (e *Env) CachedBuild(ctx context.Context, cli *docker.Client, target, id string, tags []string) (bool, string, error) {
	if !e.loadCachedBuilds(target) {
		return true, "", nil
	}
	if e.LayerHas(id) {
		if _, err := e.PullLayers(ctx, cli, id, tags, nil); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	}
	ok, err := e.Images.Load(ctx, cli, id, imagecache.LoadOptions{
		SkipShared: e.ImageStore(ctx, cli) == imagecache.StoreClassic,
		Tags:       tags,
	})
	switch {
	case err != nil:
		return false, fmt.Sprintf("image %s could not be loaded from the image cache: %v", ShortID(id), err), nil
	case !ok:
		return false, fmt.Sprintf("image %s missing (its archive in the image cache was damaged)", ShortID(id)), nil
	}
	return true, "", nil
}

// TeamBuild decides Check for build target whose image the team cache
// holds: up to date, pulled now if the policy asks (as CachedBuild).
func (e *Env) TeamBuild(ctx context.Context, cli *docker.Client, target, id string, tags []string) (bool, string, error) {
	if !e.loadCachedBuilds(target) {
		return true, "", nil
	}
	if ok, err := e.PullFromTeam(ctx, cli, id, tags, nil); err != nil || !ok {
		return false, fmt.Sprintf("image %s could not be pulled from the remote cache: %v", ShortID(id), err), nil
	}
	return true, "", nil
}

// Retag decides Check for a recorded image that is still in the engine
// but has lost some of its tags (`docker rmi app:test` while a container
// or another name keeps the image). Building again would be cheap, but a
// BuildKit image carries its creation time, so the rebuilt image would
// have a new ID and every target using it would run again. The tags are
// put back instead, under the same policy as an image in the image cache:
// now when LoadCachedBuilds asks for it, otherwise when a user loads the
// image by the recorded ID.
func (e *Env) Retag(ctx context.Context, cli *docker.Client, target, id string, tags []string) (bool, string, error) {
	if len(tags) == 0 || !e.loadCachedBuilds(target) {
		return true, "", nil
	}
	for _, tag := range tags {
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: tag}); err != nil {
			return false, fmt.Sprintf("image %s missing (%v)", tag, err), nil
		}
	}
	return true, "", nil
}
