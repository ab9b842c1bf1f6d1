package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// LabelCache marks a cache volume with the container path it is for.
const LabelCache = "dev.dtask.cache"

// CacheVolume is the name of the project's volume for a container folder
// named in run.caches: the same folder shares one volume across targets
// and runs, so a Go or npm cache stays warm.
func CacheVolume(e *targets.Env, ctrPath string) string {
	ctrPath = path.Clean(ctrPath)
	sum := sha256.Sum256([]byte(ctrPath))
	proj := e.Project
	if len(proj) > 12 {
		proj = proj[:12]
	}
	base := strings.Trim(nameUnsafe.ReplaceAllString(ctrPath, "_"), "_.-")
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return fmt.Sprintf("dtask-cache-%s-%s-%s", proj, base, hex.EncodeToString(sum[:4]))
}

// cacheMounts makes sure the volumes of caches exist, labelled with the
// project so that --cache prune finds them, and returns the mounts. A
// volume the engine lacks (a fresh CI machine) is filled from its archive
// in the user cache folder (run_caches_carry.go) through image; carry
// names the mounts to keep there after the run: those made now, and those
// not kept yet. A volume the engine already had is left to the engine,
// which keeps it: exporting it after every run would cost a copy of the
// whole cache each time, and its archive, if older, still serves as a cache.
func cacheMounts(ctx context.Context, e *targets.Env, cli *docker.Client, image string, caches []string) (mounts, carry map[string]string, err error) {
	if len(caches) == 0 {
		return nil, nil, nil
	}
	out, carry := map[string]string{}, map[string]string{}
	for _, p := range caches {
		p = path.Clean(p)
		name := CacheVolume(e, p)
		missing, err := volumeMissing(ctx, cli, name)
		if err != nil {
			return nil, nil, fmt.Errorf("cache volume for %s: %w", p, err)
		}
		if missing || !volumeKept(e, name) {
			carry[p] = name
		}
		if missing {
			_, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: map[string]string{
				docker.LabelTool: "dtask", docker.LabelProject: e.Project, LabelCache: p,
			}})
			if err != nil {
				return nil, nil, fmt.Errorf("cache volume for %s: %w", p, err)
			}
			if err := restoreVolume(ctx, e, cli, image, name, p); err != nil {
				return nil, nil, fmt.Errorf("cache volume for %s: restoring it from the cache folder: %w", p, err)
			}
		}
		out[p] = name
	}
	return out, carry, nil
}

// volumeMounts turns container path -> volume name into engine mounts.
func volumeMounts(m map[string]string) []mount.Mount {
	var out []mount.Mount
	for target, name := range m {
		out = append(out, mount.Mount{Type: mount.TypeVolume, Source: name, Target: target})
	}
	return out
}

// CacheVolumes lists the project's cache volumes: name -> container path.
func CacheVolumes(ctx context.Context, e *targets.Env) (map[string]string, error) {
	cli, err := e.Connect(ctx)
	if err != nil {
		return nil, err
	}
	f := client.Filters{}.Add("label", docker.LabelProject+"="+e.Project, LabelCache)
	res, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing cache volumes: %w", err)
	}
	out := map[string]string{}
	for _, v := range res.Items {
		out[v.Name] = v.Labels[LabelCache]
	}
	return out, nil
}

// RemoveCacheVolume removes one cache volume; one in use is left alone.
func RemoveCacheVolume(ctx context.Context, e *targets.Env, name string) error {
	cli, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
		return fmt.Errorf("removing cache volume %s: %w", name, err)
	}
	return nil
}
