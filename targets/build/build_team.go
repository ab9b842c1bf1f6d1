package build

import (
	"context"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// teamCacheFrom adds the team cache's last image of the target as a cache
// source, with the credentials the builder needs to fetch it, and asks
// BuildKit to put inline cache metadata in the image it publishes.
func (a *buildAction) teamCacheFrom(ctx context.Context, opts *client.ImageBuildOptions, buildkit bool, bc *buildCache) {
	if a.e.Team == nil || !buildkit {
		return
	}
	one := "1"
	if opts.BuildArgs == nil {
		opts.BuildArgs = map[string]*string{}
	}
	opts.BuildArgs["BUILDKIT_INLINE_CACHE"] = &one
	var stages []string
	if bc != nil {
		stages = bc.stages
	}
	for _, ref := range a.e.Team.CacheFrom(ctx, a.t.Name, stages) {
		opts.CacheFrom = append(opts.CacheFrom, ref)
		host, err := registryauth.Host(ref)
		if err != nil {
			continue
		}
		cfg, err := registryauth.Load(registryauth.ConfigDir())
		if err != nil {
			continue
		}
		if ac, err := cfg.Lookup(ctx, host); err == nil && (ac.Username != "" || ac.IdentityToken != "") {
			if opts.AuthConfigs == nil {
				opts.AuthConfigs = map[string]registry.AuthConfig{}
			}
			opts.AuthConfigs[registryauth.ServerKey(host)] = ac
		}
	}
}

// publishStages hands the stage images the build tagged to the team
// cache, so that a build elsewhere reuses their steps (a slow dependency
// stage) instead of running them again.
func (a *buildAction) publishStages(ctx context.Context, cli *docker.Client, bc *buildCache) {
	if a.e.Team == nil || bc == nil {
		return
	}
	for _, s := range bc.stages {
		if id, err := cli.ImageID(ctx, a.stageRef(s)); err == nil && id != "" {
			a.e.Team.PublishStage(a.t.Name, s, id)
		}
	}
}
