package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	targetrun "github.com/dtask-dev/dtask/targets/run"
)

// cacheVolumes lists, prunes or clears the project's cache volumes
// (run.caches) after the image cache, with their archives in the user
// cache folder. An unreachable engine leaves the volumes alone with a
// note: the image cache does not need one.
func cacheVolumes(ctx context.Context, op string, p *dproject, stdout io.Writer) error {
	used := map[string]bool{}
	for _, t := range p.File.Targets {
		if t.Run != nil {
			for _, c := range t.Run.Caches {
				used[targetrun.CacheVolume(p.Env, c)] = true
			}
		}
	}
	archives := pruneVolumeArchives(op, p, used, stdout)
	vols, err := targetrun.CacheVolumes(ctx, p.Env)
	if err != nil {
		fmt.Fprintf(stdout, "cache volumes: not listed: %v\n", err)
		return nil
	}
	removed := 0
	for _, name := range slices.Sorted(maps.Keys(vols)) {
		switch {
		case op == "list":
			fmt.Fprintf(stdout, "cache volume %s  %s%s\n", name, vols[name], map[bool]string{true: "  (kept in the cache folder)"}[archives[name]])
		case op == "clear" || !used[name]:
			if err := targetrun.RemoveCacheVolume(ctx, p.Env, name); err != nil {
				fmt.Fprintf(stdout, "kept %v\n", err)
				continue
			}
			removed++
			fmt.Fprintf(stdout, "removed cache volume %s (%s)\n", name, vols[name])
		}
	}
	if op != "list" {
		fmt.Fprintf(stdout, "cache volumes: %d removed, %d kept\n", removed, len(vols)-removed)
	}
	return nil
}

// pruneVolumeArchives removes the archives of cache volumes no target
// names (prune) or all of them (clear), and returns those left.
func pruneVolumeArchives(op string, p *dproject, used map[string]bool, stdout io.Writer) map[string]bool {
	left := map[string]bool{}
	for _, name := range targetrun.VolumeArchiveNames(p.Env) {
		if op == "list" || op == "prune" && used[name] {
			left[name] = true
			continue
		}
		if err := targetrun.RemoveVolumeArchive(p.Env, name); err != nil {
			fmt.Fprintf(stdout, "kept %v\n", err)
			left[name] = true
			continue
		}
		fmt.Fprintf(stdout, "removed the archive of cache volume %s\n", name)
	}
	return left
}
