package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
)

// cacheVolumes lists, prunes or clears the project's cache volumes
// (run.caches) after the image cache. An unreachable engine leaves them
// alone with a note: the image cache does not need one.
func cacheVolumes(ctx context.Context, op string, p *dproject, stdout io.Writer) error {
	vols, err := p.Env.CacheVolumes(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "cache volumes: not listed: %v\n", err)
		return nil
	}
	used := map[string]bool{}
	for _, t := range p.File.Targets {
		if t.Run != nil {
			for _, c := range t.Run.Caches {
				used[p.Env.CacheVolume(c)] = true
			}
		}
	}
	removed := 0
	for _, name := range slices.Sorted(maps.Keys(vols)) {
		switch {
		case op == "list":
			fmt.Fprintf(stdout, "cache volume %s  %s\n", name, vols[name])
		case op == "clear" || !used[name]:
			if err := p.Env.RemoveCacheVolume(ctx, name); err != nil {
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
