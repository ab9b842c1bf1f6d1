package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// buildCache is the image cache's part in one run of a build: the images
// loaded as cache sources before it, the stages tagged and everything
// saved after it.
type buildCache struct {
	a       *buildAction
	builder imagecache.Builder
	stages  []string // named stages the image depends on, in order
	bases   []string // FROM images
	from    []string // cache sources the engine has (loaded or already there)
	temp    []string // names given for this build only
	// classic builder: the stage images offered as cache sources and
	// those built after the image, by stage name (image IDs)
	offered, built map[string]string
}

// labelStage marks the classic builder's stage images, which dtask keeps
// untagged (as a plain docker build leaves a multi-stage build's stages):
// its value is the stage's stageRef, by which a later build finds them.
const labelStage = "dev.dtask.stage"

// cacheRepo names a build's stages (their tags for a BuildKit build, their
// label and image cache key for a classic one), stable across runs so that
// a later build finds them as cache sources. The
// project's id (a hash of the task file's path) sets apart checkouts that
// share a folder name, as CI checkouts do.
func (a *buildAction) cacheRepo() string {
	project := targets.RepoPart(filepath.Base(a.e.File.Dir))
	if a.e.Project != "" {
		project += "-" + targets.RepoPart(a.e.Project)
	}
	return "dtask-cache/" + project + "/" + targets.RepoPart(a.t.Name)
}

func (a *buildAction) stageRef(stage string) string {
	return a.cacheRepo() + ":stage-" + targets.TagPart(stage)
}
func (a *buildAction) latestRef() string { return a.cacheRepo() + ":latest" }

// prepareCache loads what the build can use from the image cache: missing
// FROM images, then its stage images and last image as cache sources. It
// returns nil when the run keeps no image cache.
func (a *buildAction) prepareCache(ctx context.Context, cli *docker.Client, c *buildctx.Context, buildkit bool, x *engine.Exec) *buildCache {
	if a.e.Images == nil {
		return nil
	}
	bc := &buildCache{a: a}
	needs := len(a.b.Secrets) > 0 || needsBuildKit(c.Dockerfile)
	bc.builder = imagecache.ChooseBuilder(a.e.ImageStore(ctx, cli), buildkit, a.b.Builder != "", needs)
	if x.Verbose {
		fmt.Fprintln(x.Stdout, bc.builder.Note)
	}
	if src, err := os.ReadFile(c.Dockerfile); err == nil {
		if bc.stages, err = cacheStages(src, a.b.Target); err != nil && x.Verbose {
			fmt.Fprintf(x.Stdout, "image cache: not caching stages: %v\n", err)
		}
	}
	bc.bases, _ = a.bases(c)
	for _, ref := range bc.bases {
		if id, _ := cli.ImageID(ctx, ref); id == "" {
			_, _, _ = a.e.LoadCached(ctx, cli, ref, nil, x.Progress)
		}
	}
	bc.offered, bc.built = map[string]string{}, map[string]string{}
	for _, s := range bc.stages {
		if src := bc.stageSource(ctx, cli, s, x); src != "" {
			bc.from = append(bc.from, src)
		}
	}
	bc.previous(ctx, cli, x)
	return bc
}

// stageSource makes the engine have stage s's image, from the image
// cache if needed, and returns how the build names it as a cache source
// ("" for none). BuildKit finds a local cache source by tag only. The
// classic builder takes an image ID, so there the stage image is kept
// with no tag, found by its label, and loaded from the cache untagged.
func (bc *buildCache) stageSource(ctx context.Context, cli *docker.Client, s string, x *engine.Exec) string {
	a, ref := bc.a, bc.a.stageRef(s)
	if bc.builder.BuildKit {
		id, err := cli.ImageID(ctx, ref)
		if err != nil {
			return ""
		}
		if id == "" {
			if _, ok, _ := a.e.LoadCached(ctx, cli, ref, bc.bases, x.Progress); !ok {
				return ""
			}
		}
		return ref
	}
	if ids := a.stageImages(ctx, cli, s); len(ids) > 0 {
		bc.offered[s] = ids[0]
		return ids[0]
	}
	id, found := a.e.Images.Lookup(ref)
	if !found {
		return ""
	}
	ok, err := a.e.Images.Load(ctx, cli, id, imagecache.LoadOptions{
		Have:       bc.bases,
		SkipShared: a.e.ImageStore(ctx, cli) == imagecache.StoreClassic,
		Progress:   targets.TransferProgress(x.Progress, "loading stage "+s+" of "+a.t.Name+" from the image cache"),
		OnlyRef:    true, // no name: the entry's ref is the stage's key, not a tag
	})
	if err != nil || !ok {
		return ""
	}
	bc.offered[s] = id
	return id
}

// stageImages lists the engine's images labelled as stage s of this
// target, newest first.
func (a *buildAction) stageImages(ctx context.Context, cli *docker.Client, s string) []string {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", labelStage+"="+a.stageRef(s))})
	if err != nil {
		return nil
	}
	items := res.Items
	slices.SortFunc(items, func(x, y image.Summary) int { return int(y.Created - x.Created) })
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// previous makes the image this target built last a cache source, under a
// name that lasts only for this build: a permanent extra tag would keep
// the image after the user removed its own tags.
func (bc *buildCache) previous(ctx context.Context, cli *docker.Client, x *engine.Exec) {
	a := bc.a
	id, ok := a.e.Images.Newest(imagecache.KindBuild, a.t.Name)
	if !ok {
		return
	}
	ref := a.latestRef()
	if have, err := cli.ImageID(ctx, ref); err != nil || have != "" {
		return // another run's source, or an engine error: do without
	}
	ok, err := a.e.Images.Load(ctx, cli, id, imagecache.LoadOptions{
		Have:       bc.bases,
		SkipShared: a.e.ImageStore(ctx, cli) == imagecache.StoreClassic,
		Progress:   targets.TransferProgress(x.Progress, "loading the last image of "+a.t.Name+" from the image cache"),
		Ref:        ref,
		OnlyRef:    true,
	})
	if err != nil || !ok {
		return
	}
	bc.from = append(bc.from, ref)
	bc.temp = append(bc.temp, ref)
}

// cleanup removes the names that lasted only for the build. The image
// stays if anything else names or uses it.
func (bc *buildCache) cleanup(ctx context.Context, cli *docker.Client) {
	if bc == nil {
		return
	}
	ctx, cancel := targets.Detached(ctx)
	defer cancel()
	for _, ref := range bc.temp {
		_, _ = cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	}
}

// apply adds the cache sources and inline cache metadata to a build.
func (bc *buildCache) apply(opts *client.ImageBuildOptions) {
	if bc == nil {
		return
	}
	for _, ref := range bc.from {
		if !slices.Contains(opts.CacheFrom, ref) {
			opts.CacheFrom = append(opts.CacheFrom, ref)
		}
	}
	if bc.builder.Inline {
		if opts.BuildArgs == nil {
			opts.BuildArgs = map[string]*string{}
		}
		one := "1"
		opts.BuildArgs["BUILDKIT_INLINE_CACHE"] = &one
	}
}

// tagStages builds each named stage the image depends on: with BuildKit
// tagged, with the classic builder untagged and labelled (see
// stageSource). It runs after the image is built, so every step is a
// cache hit; a stage that fails is a warning, not the target's failure.
// Each such build sends the whole context again, so a stage is skipped
// when its tag is there and the build just made took every step of it
// from the cache (BuildKit says so; most often from that very stage
// image, loaded as a cache source).
func (bc *buildCache) tagStages(ctx context.Context, cli *docker.Client, c *buildctx.Context, base client.ImageBuildOptions, x *engine.Exec, steps *stageSteps) {
	for _, s := range bc.stages {
		if bc.builder.BuildKit && steps.allCached(s) {
			if id, err := cli.ImageID(ctx, bc.a.stageRef(s)); err == nil && id != "" {
				if x.Verbose {
					fmt.Fprintf(x.Stdout, "image cache: stage %s unchanged (every step cached); keeping %s\n", s, bc.a.stageRef(s))
				}
				continue
			}
		}
		opts := bc.stageOptions(base, s)
		out := io.Discard
		if x.Verbose {
			out = x.Stdout
			fmt.Fprintf(out, "image cache: building stage %s as %s\n", s, bc.a.stageRef(s))
		}
		progress := func(step string) {
			if x.Progress != nil {
				x.Progress("stage " + s + ": " + step)
			}
		}
		sid, err := bc.a.send(ctx, cli, c, opts, bc.builder.BuildKit, out, progress)
		if err != nil {
			fmt.Fprintf(x.Stderr, "warning: image cache: building stage %s: %v\n", s, err)
			continue
		}
		if !bc.builder.BuildKit && sid != "" {
			bc.built[s] = sid
			bc.dropStale(ctx, cli, s, sid)
		}
	}
}

// stageOptions is the build of stage s alone. It gets no build time (no
// labels of the image's), so that an unchanged stage keeps its image ID.
func (bc *buildCache) stageOptions(base client.ImageBuildOptions, s string) client.ImageBuildOptions {
	opts := base
	opts.Target = s
	opts.Tags = []string{bc.a.stageRef(s)}
	opts.Labels = nil
	if !bc.builder.BuildKit {
		opts.Tags = nil
		opts.Labels = map[string]string{labelStage: bc.a.stageRef(s)}
		// The classic builder takes local cache hits only from images
		// related to cache_from ones; the steps just built are local.
		opts.CacheFrom = nil
	}
	return opts
}

// dropStale removes the classic builder's images of stage s other than
// sid, the one just built: the one offered as a cache source, older ones
// with its label, and the tag older versions of dtask gave it. Their
// untagged parent steps go with them unless the new stage shares them;
// an image a container uses stays.
func (bc *buildCache) dropStale(ctx context.Context, cli *docker.Client, s, sid string) {
	stale := append([]string{bc.a.stageRef(s), bc.offered[s]}, bc.a.stageImages(ctx, cli, s)...)
	for _, id := range stale {
		if id != "" && id != sid {
			_, _ = cli.ImageRemove(ctx, id, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}

// save keeps the image, its stages and the FROM images the engine
// lacked when Plan looked in the cache.
func (bc *buildCache) save(ctx context.Context, cli *docker.Client, id string, tags []string, x *engine.Exec) {
	a := bc.a
	warn := func(msg string) { fmt.Fprintln(x.Stderr, msg) }
	a.e.CacheImage(ctx, cli, id, imagecache.Info{Refs: tags, Kind: imagecache.KindBuild, Target: a.t.Name}, x.Progress, warn)
	for _, s := range bc.stages {
		ref, name := a.stageRef(s), a.stageRef(s)
		if !bc.builder.BuildKit {
			if name = bc.built[s]; name == "" {
				continue
			}
		}
		img, err := cli.ImageInspect(ctx, name)
		if err != nil || a.e.Images.SameLayers(ref, img.RootFS.Layers) {
			continue
		}
		if sid := img.ID; sid != "" {
			a.e.CacheImage(ctx, cli, sid, imagecache.Info{Refs: []string{ref}, Kind: imagecache.KindStage, Target: a.t.Name}, x.Progress, warn)
		}
	}
	for _, ref := range bc.bases {
		if a.hadLocal(ref) {
			continue
		}
		if bid, err := cli.ImageID(ctx, ref); err == nil && bid != "" {
			a.e.CacheImage(ctx, cli, bid, imagecache.Info{Refs: []string{ref}, Kind: imagecache.KindBase}, x.Progress, warn)
		}
	}
}
