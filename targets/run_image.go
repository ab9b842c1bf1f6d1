package targets

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// depImage returns the image a build dep produced, as its outputs name it.
func depImage(out engine.Outputs) string {
	for _, k := range []string{"image", "id", "image_id"} {
		if v := out[k]; v != "" {
			return v
		}
	}
	return ""
}

// imageID returns the local ID of ref, or "" when the engine lacks it.
func imageID(ctx context.Context, cli *docker.Client, ref string) (string, error) {
	res, err := cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return res.ID, nil
}

// planImageID is the ID a plan hashes for ref: the local image's, else
// what a dep recorded for it, else a marker that makes the key differ
// from any run that had the image (the run will pull it or fail).
func planImageID(ctx context.Context, cli *docker.Client, ref string, deps map[string]engine.Outputs) (string, error) {
	id, err := imageID(ctx, cli, ref)
	if err != nil || id != "" {
		return id, err
	}
	for _, out := range deps {
		if out["id"] != "" && (out["image"] == ref || listHas(out["tags"], ref)) {
			return out["id"], nil
		}
		// A build dep records its image ID as "image" and its tags: a
		// cached build whose image is still in the image cache only.
		if id := out["image"]; strings.HasPrefix(id, "sha256:") && (id == ref || listHas(out["tags"], ref)) {
			return id, nil
		}
	}
	if e := cacheEnv(cli); e != nil {
		if id, ok := e.Images.Lookup(ref); ok {
			return id, nil
		}
	}
	return "missing:" + ref, nil
}

func listHas(list, s string) bool {
	for v := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

// ensureImage returns the ID of ref; when the engine lacks it, it is
// loaded from the image cache or else pulled.
func ensureImage(ctx context.Context, cli *docker.Client, ref string, progress func(string)) (string, error) {
	id, err := imageID(ctx, cli, ref)
	if err != nil || id != "" {
		return id, err
	}
	if e := cacheEnv(cli); e != nil {
		if id, ok, err := e.loadCached(ctx, cli, ref, nil, progress); err != nil || ok {
			return id, err
		}
	}
	if progress != nil {
		progress("pulling " + ref)
	}
	var auth string
	if host, err := registryauth.Host(ref); err == nil {
		auth, _ = configAuth(ctx, host) // anonymous when there is none
	}
	resp, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		return "", fmt.Errorf("image %s is not in the engine and pulling it failed: %w", ref, err)
	}
	id, err = imageID(ctx, cli, ref)
	if err == nil && id == "" {
		err = fmt.Errorf("image %s is still missing after pulling it", ref)
	}
	return id, err
}
