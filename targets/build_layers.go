package targets

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// buildLayers is the OCI store's part in one BuildKit build: the saved
// stage images and last image offered as registry cache sources (BuildKit
// reads their inline cache metadata and fetches only the blobs of steps
// it reuses), and, off the critical path, each named stage built on its
// own and saved with the image. Nothing is loaded into the engine and no
// name is left in it: this works the same on the classic and the
// containerd image store.
type buildLayers struct {
	a      *buildAction
	srv    *ocicache.Server
	stages []string // named stages the image depends on, in order
	bases  []string // FROM images
	from   []string // registry refs offered as cache sources
}

// layerTag is the store's name for one of the target's images: "latest",
// "stage-NAME" or "base-N".
func (a *buildAction) layerTag(what string) string {
	t := tagPart(a.t.Name) + "." + tagPart(what)
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// prepareLayers finds the cache sources the store holds for this build.
// It returns nil when the run keeps no store or its registry cannot start.
func (a *buildAction) prepareLayers(ctx context.Context, cli *docker.Client, c *buildctx.Context, x *engine.Exec) *buildLayers {
	if a.e.Layers == nil {
		return nil
	}
	srv, err := a.e.layerRegistry()
	if err != nil {
		fmt.Fprintf(x.Stderr, "warning: image cache: %v\n", err)
		return nil
	}
	bl := &buildLayers{a: a, srv: srv}
	if src, err := os.ReadFile(c.Dockerfile); err == nil {
		if bl.stages, err = cacheStages(src, a.b.Target); err != nil && x.Verbose {
			fmt.Fprintf(x.Stdout, "image cache: not caching stages: %v\n", err)
		}
	}
	bl.bases, _ = a.bases(c)
	bl.restoreBases(ctx, cli, x)
	for _, s := range bl.stages {
		bl.offer(a.layerTag("stage-" + s))
	}
	bl.offer(a.layerTag("latest"))
	bl.touch(ctx)
	if x.Verbose {
		fmt.Fprintf(x.Stdout, "image cache: BuildKit imports cache from %d saved images through %s\n", len(bl.from), srv.Host)
	}
	return bl
}

func (bl *buildLayers) offer(tag string) {
	if _, ok := bl.a.e.Layers.Resolve(tag); ok {
		bl.from = append(bl.from, bl.srv.Ref(tag))
	}
}

// touch marks the entries offered as used, for the layout's size budget.
func (bl *buildLayers) touch(ctx context.Context) {
	var tags []string
	for _, ref := range bl.from {
		if _, tag, ok := strings.Cut(ref, ":"); ok {
			tags = append(tags, tag)
		}
	}
	_ = bl.a.e.Layers.Touch(ctx, tags...)
}

// restoreBases pulls FROM images the engine lacks from the store.
func (bl *buildLayers) restoreBases(ctx context.Context, cli *docker.Client, x *engine.Exec) {
	for i, ref := range bl.bases {
		if id, err := cli.ImageID(ctx, ref); err != nil || id != "" {
			continue
		}
		d, ok := bl.a.e.Layers.Resolve(bl.a.layerTag(fmt.Sprintf("base-%d", i)))
		if !ok {
			continue
		}
		id := d.Annotations[ocicache.AnnotationImageID]
		if _, err := bl.a.e.pullLayers(ctx, cli, id, []string{ref}, x.Progress); err != nil {
			fmt.Fprintf(x.Stderr, "warning: image cache: %v\n", err)
		}
	}
}

// apply adds the cache sources and asks for inline cache metadata, which
// is what the engine's BuildKit can export on every image store.
func (bl *buildLayers) apply(opts *client.ImageBuildOptions) {
	if bl == nil {
		return
	}
	for _, ref := range bl.from {
		if !slices.Contains(opts.CacheFrom, ref) {
			opts.CacheFrom = append(opts.CacheFrom, ref)
		}
	}
	if opts.BuildArgs == nil {
		opts.BuildArgs = map[string]*string{}
	}
	one := "1"
	opts.BuildArgs["BUILDKIT_INLINE_CACHE"] = &one
}

// save keeps the image, the stages that changed and missing FROM images
// in the store, in the background: the target is done, its dependents
// start. Each stage is built on its own (every step a cache hit, and no
// tag: the engine keeps no bookkeeping names) because inline cache
// metadata covers only the layers of its own image. A save stopped before
// it ends drops the entries of the stages it was to replace (see
// FinishSaves).
func (bl *buildLayers) save(c *buildctx.Context, base client.ImageBuildOptions, id string, steps *stageSteps, cli *docker.Client) {
	a := bl.a
	a.e.background(func(ctx context.Context) {
		tags := map[string]string{a.layerTag("latest"): id}
		var temp, pending []string
		for _, s := range bl.stages {
			tag := a.layerTag("stage-" + s)
			if _, ok := a.e.Layers.Resolve(tag); ok && steps.allCached(s) {
				continue // every step came from the cache: what is saved still serves
			}
			pending = append(pending, tag)
			if sid := bl.buildStage(ctx, cli, c, base, s); sid != "" {
				tags[tag] = sid
				if sid != id {
					temp = append(temp, sid)
				}
			}
		}
		for i, ref := range bl.bases {
			bl.addBase(ctx, cli, tags, a.layerTag(fmt.Sprintf("base-%d", i)), ref)
		}
		err := a.e.saveLayers(ctx, cli, tags)
		switch {
		case err != nil && ctx.Err() != nil:
			_ = a.e.Layers.Untag(context.WithoutCancel(ctx), pending...)
		case err != nil:
			fmt.Fprintf(os.Stderr, "warning: %s: %v\n", a.t.Name, err)
		}
		for _, sid := range temp {
			_, _ = cli.ImageRemove(context.WithoutCancel(ctx), sid, client.ImageRemoveOptions{})
		}
	})
}

// buildStage builds stage s on its own for the store and returns its image
// ID, or "" (with a warning unless the save was stopped).
func (bl *buildLayers) buildStage(ctx context.Context, cli *docker.Client, c *buildctx.Context, base client.ImageBuildOptions, s string) string {
	opts := base
	opts.Target, opts.Tags, opts.Labels = s, nil, nil
	sid, err := bl.a.send(ctx, cli, c, opts, true, io.Discard, nil)
	if (err != nil || sid == "") && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "warning: image cache: building stage %s of %s: %v\n", s, bl.a.t.Name, err)
	}
	if ctx.Err() != nil {
		return ""
	}
	return sid
}

// addBase adds FROM image ref to the save unless the store has it.
func (bl *buildLayers) addBase(ctx context.Context, cli *docker.Client, tags map[string]string, tag, ref string) {
	id, err := cli.ImageID(ctx, ref)
	if err != nil || id == "" {
		return
	}
	if d, ok := bl.a.e.Layers.Resolve(tag); ok && d.Annotations[ocicache.AnnotationImageID] == id {
		return
	}
	tags[tag] = id
}
