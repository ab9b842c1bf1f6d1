package targets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// DepImage returns the image a build dep produced.
func DepImage(out engine.Outputs) string {
	return BuildOutputOf(out).ImageID
}

// ImageID returns the local ID of ref, or "" when the engine lacks it.
func ImageID(ctx context.Context, cli *docker.Client, ref string) (string, error) {
	res, err := cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return res.ID, nil
}

// RecordedImageID is the image ID a dep recorded for ref (a build's image
// under one of its tags), or "". That ID, not whatever ref names in the
// engine or the image cache now, is what the consuming target uses: after
// a fresh engine the cache may hold several images with that tag.
func RecordedImageID(ref string, deps map[string]engine.Outputs) string {
	for _, name := range slices.Sorted(maps.Keys(deps)) {
		// A build or push dep records its image ID and tags.
		out := BuildOutputOf(deps[name])
		if strings.HasPrefix(out.ImageID, "sha256:") && (out.ImageID == ref || slices.Contains(out.Tags, ref)) {
			return out.ImageID
		}
	}
	return ""
}

// PlanImageID is the ID a plan hashes for ref: what a dep recorded for it
// (EnsureImage makes ref name that image), else the local image's, else
// the image cache's newest image with that name, else a marker that makes
// the key differ from any run that had the image (the run will pull it or
// fail).
func PlanImageID(ctx context.Context, cli *docker.Client, ref string, deps map[string]engine.Outputs) (string, error) {
	if id := RecordedImageID(ref, deps); id != "" {
		return id, nil
	}
	id, err := ImageID(ctx, cli, ref)
	if err != nil || id != "" {
		return id, err
	}
	if e := cacheEnv(cli); e != nil {
		if id, ok := e.layerRefID(ref); ok {
			return id, nil
		}
		if id, ok := e.Images.Lookup(ref); ok {
			return id, nil
		}
	}
	return "missing:" + ref, nil
}

// PlanImage adds to p, under label, the ID PlanImageID finds for ref, an
// image the target consumes. When neither the engine nor the image cache
// has it, the run will pull it: the key holds PlanImageID's marker until
// the run succeeds, then the ID the engine has for ref, which is what the
// next run finds.
func PlanImage(ctx context.Context, p *engine.Plan, cli *docker.Client, label, ref string) error {
	id, err := PlanImageID(ctx, cli, ref, p.Deps)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(id, "missing:") {
		p.Image(label, id)
		return nil
	}
	p.ImageToFetch(label, id, func(ctx context.Context) (string, error) { return ImageID(ctx, cli, ref) })
	return nil
}

// EnsureImage returns the ID of ref, making the engine have it. When a
// dep recorded the image ID for ref (want), that image is used: taken
// from the engine or loaded from the image cache by ID, and ref moved to
// it if it names another image. Otherwise ref is taken as the engine has
// it, else loaded from the image cache by name, else pulled.
func EnsureImage(ctx context.Context, cli *docker.Client, ref, want string, progress func(string)) (string, error) {
	id, _, err := EnsureImageFetched(ctx, cli, ref, want, progress)
	return id, err
}

// EnsureImageFetched is EnsureImage that also says whether the engine
// lacked the image (dtask pulled it, or loaded it from the image cache):
// only such an image is carried in the image cache for a service, since
// one the engine had when the run needed it is the machine's to provide.
func EnsureImageFetched(ctx context.Context, cli *docker.Client, ref, want string, progress func(string)) (id string, fetched bool, err error) {
	id, err = ImageID(ctx, cli, ref)
	if err != nil || id != "" && (want == "" || id == want) {
		return id, false, err
	}
	id, err = fetchImage(ctx, cli, ref, want, progress)
	return id, err == nil, err
}

// fetchImage is EnsureImage for an image the engine lacks as wanted.
func fetchImage(ctx context.Context, cli *docker.Client, ref, want string, progress func(string)) (string, error) {
	if want != "" {
		return ensureRecorded(ctx, cli, ref, want, progress)
	}
	if e := cacheEnv(cli); e != nil {
		if id, ok, err := e.LoadCached(ctx, cli, ref, nil, progress); err != nil || ok {
			return id, err
		}
	}
	if progress != nil {
		progress("pulling " + ref)
	}
	var auth string
	if host, err := registryauth.Host(ref); err == nil {
		if ac, err := registryauth.ForHost(ctx, host); err == nil {
			auth, _ = registryauth.Encode(ac)
		} // anonymous when there is none
	}
	resp, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		return "", fmt.Errorf("image %s is not in the engine and pulling it failed: %w", ref, err)
	}
	id, err := ImageID(ctx, cli, ref)
	if err == nil && id == "" {
		err = fmt.Errorf("image %s is still missing after pulling it", ref)
	}
	return id, err
}

// ensureRecorded makes ref name image want, loading it from the image
// cache if the engine lacks it. Running another image under that name
// would be wrong, so a recorded image that is nowhere is an error.
func ensureRecorded(ctx context.Context, cli *docker.Client, ref, want string, progress func(string)) (string, error) {
	if e := cacheEnv(cli); e != nil {
		if e.LayerHas(want) {
			if _, err := e.PullLayers(ctx, cli, want, []string{ref}, progress); err != nil {
				return "", err
			}
			return want, nil
		}
		ok, err := e.loadByID(ctx, cli, want, ref, progress)
		if err != nil {
			return "", err
		}
		if ok {
			return want, nil
		}
	} else if have, err := ImageID(ctx, cli, want); err != nil || have != "" {
		if err == nil && ref != want {
			_, err = cli.ImageTag(ctx, client.ImageTagOptions{Source: want, Target: ref})
		}
		if err != nil {
			return "", fmt.Errorf("tagging %s as %s: %w", ShortID(want), ref, err)
		}
		return want, nil
	}
	if e := teamEnv(cli); e != nil {
		ok, err := e.PullFromTeam(ctx, cli, want, []string{ref}, progress)
		if err != nil || ok {
			return want, err
		}
	}
	return "", fmt.Errorf("image %s (%s, as its build recorded it) is neither in the engine nor in the image cache; run again to rebuild it", ref, ShortID(want))
}
