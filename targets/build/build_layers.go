package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
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
// "stage-NAME" or a base's (baseTag).
func (a *buildAction) layerTag(what string) string {
	t := targets.TagPart(a.t.Name) + "." + targets.TagPart(what)
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// baseTag is the store's name for FROM image ref of the target: named by
// the image, so that a Dockerfile moved to another base never finds the
// old one under the new name (by position, "base-0" did).
func (a *buildAction) baseTag(ref string) string {
	return a.layerTag("base-" + targets.RefTag(ref))
}

// prepareLayers finds the cache sources the store holds for this build.
// It returns nil when the run keeps no store or its registry cannot start.
func (a *buildAction) prepareLayers(ctx context.Context, cli *docker.Client, c *buildctx.Context, x *engine.Exec) *buildLayers {
	if a.e.Layers == nil {
		return nil
	}
	srv, err := a.e.LayerRegistry()
	if err != nil {
		fmt.Fprintf(x.Stderr, "warning: image cache: %v\n", err)
		return nil
	}
	bl := &buildLayers{a: a, srv: srv}
	// The save after the build asks the engine which image store it has
	// (a docker info, 0.2 s on a busy machine, at the head of the save and
	// so of a CI run's wait at exit): ask now, while the build runs. Not
	// under the target's context, whose end would be taken for a classic
	// store for the rest of the run; bounded, as every later ImageStore
	// waits for this one and a hung engine must not hold dtask's exit.
	go func() {
		dctx, cancel := targets.Detached(ctx)
		defer cancel()
		a.e.ImageStore(dctx, cli)
	}()
	if src, err := os.ReadFile(c.Dockerfile); err == nil {
		if bl.stages, err = cacheStages(src, a.b.Target); err != nil && x.Verbose {
			fmt.Fprintf(x.Stdout, "image cache: not caching stages: %v\n", err)
		}
		bl.stages = withSteps(src, bl.stages)
	}
	bl.bases, _ = a.bases(c)
	end := a.e.Span("restoring the base images of " + a.t.Name)
	bl.restoreBases(ctx, cli, x)
	end()
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

// restoreBases pulls FROM images the engine lacks from the store. One
// that Plan found in the engine is not asked for again: an image inspect
// took up to 0.1 s on the containerd store, just before the build.
func (bl *buildLayers) restoreBases(ctx context.Context, cli *docker.Client, x *engine.Exec) {
	for _, ref := range bl.bases {
		if bl.a.hadLocal(ref) {
			continue
		}
		if id, err := cli.ImageID(ctx, ref); err != nil || id != "" {
			continue
		}
		d, ok := bl.a.e.Layers.Resolve(bl.a.baseTag(ref))
		if !ok {
			continue
		}
		id := d.Annotations[ocicache.AnnotationImageID]
		if _, err := bl.a.e.PullLayers(ctx, cli, id, []string{ref}, x.Progress); err != nil {
			fmt.Fprintf(x.Stderr, "warning: image cache: %v\n", err)
		}
	}
}

// apply adds the cache sources and asks for inline cache metadata, so that
// the image is its own cache source (<target>.latest), saved once and not
// built again beside the target's dependents. It costs the build nothing
// worth waiting for on any image store: the containerd store's export
// writes a compressed blob of every layer anyway, and on the classic
// store BuildKit names the layers by their uncompressed digests, which
// the layer store has (the "preparing layers for inline cache" step took
// under 1 ms on Docker 20.10 and 28.5 overlay2).
func (bl *buildLayers) apply(opts *client.ImageBuildOptions) {
	if bl == nil {
		return
	}
	for _, ref := range bl.from {
		if !slices.Contains(opts.CacheFrom, ref) {
			opts.CacheFrom = append(opts.CacheFrom, ref)
		}
	}
	withInlineCache(opts)
}

// withInlineCache makes a build carry inline cache metadata, on a copy of
// its build args (base options are shared with the stage builds).
func withInlineCache(opts *client.ImageBuildOptions) {
	opts.BuildArgs = maps.Clone(opts.BuildArgs)
	if opts.BuildArgs == nil {
		opts.BuildArgs = map[string]*string{}
	}
	one := "1"
	opts.BuildArgs["BUILDKIT_INLINE_CACHE"] = &one
}

// save keeps, in the background (the target is done, its dependents
// start), the image as built (<target>.image, what a fresh engine
// restores, and, since it carries inline cache metadata, <target>.latest,
// a cache source), the stages that changed and missing FROM images. Each
// stage is built again (every step a cache hit, and no tag: the engine
// keeps no bookkeeping names) because inline cache metadata covers only
// the layers of its own image; a stage another target of the run builds
// too is built and saved once (saveStages). An image the store holds
// already is not read again. A save stopped before it ends drops the
// entries of the stages it was to replace (see FinishSaves).
func (bl *buildLayers) save(c *buildctx.Context, base client.ImageBuildOptions, id string, steps *stageSteps, cli *docker.Client) {
	a := bl.a
	a.e.Background(func(ctx context.Context) {
		defer a.e.Span("save of " + a.t.Name)()
		ss := &stageSet{tags: map[string]string{}, notes: map[string]map[string]string{}}
		defer ss.publish(errors.New("the save ended early"))
		_, saved := a.e.Layers.ByImageID(id)
		imageDone := bl.saveImageFirst(ctx, cli, id, saved)
		bl.saveStages(ctx, cli, c, base, id, steps, ss)
		alias := false // <target>.latest names the entry of <target>.image
		if !saved {
			alias = bl.saveLatest(id, imageDone != nil, ss.tags)
		}
		for _, ref := range bl.bases {
			bl.addBase(ctx, cli, ss.tags, a.baseTag(ref), ref)
		}
		err := errors.Join(bl.waitImage(imageDone), a.e.SaveLayers(ctx, cli, ss.tags))
		ss.publish(err)
		if err == nil && alias {
			err = bl.alias(ctx, a.layerTag("image"), a.layerTag("latest"))
		}
		if err == nil {
			err = bl.nameShared(ctx, ss)
		}
		if err == nil {
			bl.annotate(ctx, ss.notes)
		}
		bl.finish(ctx, cli, err, ss.pending, ss.temp)
	})
}

// finish ends a save: a save stopped before it ended drops the entries it
// was to replace (pending), and the images built only for it (temp) are
// removed once no other save holds them. Both outlive ctx, bounded so that
// a hung engine cannot hold dtask's exit.
func (bl *buildLayers) finish(ctx context.Context, cli *docker.Client, err error, pending, temp []string) {
	a := bl.a
	dctx, cancel := targets.Detached(ctx)
	defer cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		_ = a.e.Layers.Untag(dctx, pending...)
	case err != nil:
		fmt.Fprintf(os.Stderr, "warning: %s: %v\n", a.t.Name, err)
	}
	for _, sid := range temp {
		if a.e.ReleaseImage(sid) {
			_, _ = cli.ImageRemove(dctx, sid, client.ImageRemoveOptions{})
		}
	}
}

// saveLatest adds the image (unless saveImageFirst is pushing it) to a
// save's tags as <target>.image and <target>.latest. It returns true when
// <target>.latest is to name the image's own entry once the push is done.
func (bl *buildLayers) saveLatest(id string, pushing bool, tags map[string]string) bool {
	if pushing {
		return true
	}
	tags[bl.a.layerTag("image")] = id
	tags[bl.a.layerTag("latest")] = id
	return false
}

// saveImageFirst starts saving the image itself at once where a save is a
// push of blobs kept compressed as built (the containerd image store): its
// large blobs move while the cache builds run, and the pushes after it find
// them in the store. On the classic store one docker save takes every image,
// so that layers they share are exported once; there it returns nil.
func (bl *buildLayers) saveImageFirst(ctx context.Context, cli *docker.Client, id string, saved bool) <-chan error {
	if saved || bl.a.e.ImageStore(ctx, cli) != imagecache.StoreContainerd {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		defer bl.a.e.Span("pushing the image of " + bl.a.t.Name)()
		done <- bl.a.e.PushLayers(ctx, cli, map[string]string{bl.a.layerTag("image"): id})
	}()
	return done
}

// alias makes entry to name what entry from names: an image built with
// inline cache metadata is its own cache source, saved once.
func (bl *buildLayers) alias(ctx context.Context, from, to string) error {
	d, ok := bl.a.e.Layers.Resolve(from)
	if !ok {
		return fmt.Errorf("saving to the image cache: no entry %s to name %s", from, to)
	}
	if err := bl.a.e.Layers.Tag(ctx, to, d); err != nil {
		return fmt.Errorf("saving to the image cache: %w", err)
	}
	return nil
}

// waitImage waits for the push saveImageFirst started, if any.
func (bl *buildLayers) waitImage(done <-chan error) error {
	if done == nil {
		return nil
	}
	return <-done
}

// Annotations of a stage's entry that say whether saving it again pays.
const (
	// annotationChanged says that the last build of the target changed
	// the stage (ran one of its steps rather than took it from the cache).
	annotationChanged = "dev.dtask.stage.changed"
	// annotationBehind says that a later build changed the stage and kept
	// this entry.
	annotationBehind = "dev.dtask.stage.behind"
)

// stageSave says whether stage s is built again with cache metadata and
// saved, and what to note on its entry (nil: nothing; "" removes a note).
// A stage that changed in the build before this one too changes build
// after build (it starts with a COPY of the whole context): a copy of
// this version would serve no later build, while saving it costs a diff
// of the stage's whole file tree. Its entry is kept, noted as behind, and
// the first build that takes the stage whole from the cache saves it as
// it is then. A stage that changes now and then (dependencies) is saved
// after each change.
func (bl *buildLayers) stageSave(tag, s string, steps *stageSteps) (bool, map[string]string) {
	d, ok := bl.a.e.Layers.Resolve(tag)
	changed := d.Annotations[annotationChanged] != ""
	switch {
	case !ok:
		if steps.allCached(s) {
			return true, nil
		}
		return true, map[string]string{annotationChanged: "true"}
	case steps.allCached(s):
		if d.Annotations[annotationBehind] != "" {
			// saved afresh; a stage that changed build after build is
			// likely to again
			return true, map[string]string{annotationChanged: d.Annotations[annotationChanged]}
		}
		if changed {
			return false, map[string]string{annotationChanged: ""}
		}
		return false, nil
	case changed:
		if d.Annotations[annotationBehind] != "" {
			return false, nil
		}
		return false, map[string]string{annotationBehind: "true"}
	}
	return true, map[string]string{annotationChanged: "true"}
}

// annotate adds notes to the entries tagged so (tag -> annotations).
func (bl *buildLayers) annotate(ctx context.Context, notes map[string]map[string]string) {
	for tag, note := range notes {
		d, ok := bl.a.e.Layers.Resolve(tag)
		if !ok {
			continue
		}
		ann := maps.Clone(d.Annotations)
		if ann == nil {
			ann = map[string]string{}
		}
		for k, v := range note {
			if v == "" {
				delete(ann, k)
			} else {
				ann[k] = v
			}
		}
		d.Annotations = ann
		_ = bl.a.e.Layers.Tag(ctx, tag, d)
	}
}

// cacheBuild builds stage again with inline cache metadata and returns
// its image ID, or "" (with a warning unless the save was stopped). A
// stage gets no labels, so that an unchanged stage keeps its ID.
func (bl *buildLayers) cacheBuild(ctx context.Context, cli *docker.Client, c *buildctx.Context, base client.ImageBuildOptions, stage string) string {
	opts := base
	opts.Tags, opts.Target, opts.Labels = nil, stage, nil
	withInlineCache(&opts)
	what := "stage " + stage
	end := bl.a.e.Span("building " + what + " of " + bl.a.t.Name + " with cache metadata")
	sid, err := bl.a.send(ctx, cli, c, opts, true, io.Discard, nil)
	end()
	if ctx.Err() != nil {
		return ""
	}
	if err != nil || sid == "" {
		fmt.Fprintf(os.Stderr, "warning: image cache: building %s of %s with cache metadata: %v\n", what, bl.a.t.Name, err)
	}
	return sid
}

// addBase adds FROM image ref to the save unless the store has it or
// the engine had it when Plan looked: such an image is the machine's to
// provide, and saving it cost a cold CI run seconds of I/O for nothing.
func (bl *buildLayers) addBase(ctx context.Context, cli *docker.Client, tags map[string]string, tag, ref string) {
	if bl.a.hadLocal(ref) {
		return
	}
	id, err := cli.ImageID(ctx, ref)
	if err != nil || id == "" {
		return
	}
	if d, ok := bl.a.e.Layers.Resolve(tag); ok && d.Annotations[ocicache.AnnotationImageID] == id {
		return
	}
	tags[tag] = id
}
