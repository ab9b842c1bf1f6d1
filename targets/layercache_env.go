package targets

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// layerCache is the run's use of the OCI layout store: the loopback
// registry serving it (started on first use) and the saves running in
// the background.
type layerCache struct {
	once  sync.Once
	srv   *ocicache.Server
	err   error
	saves sync.WaitGroup
	// ctx is what background saves run under: not a target's context,
	// which ends with the target, but one FinishSaves cancels on Ctrl-C.
	ctx    context.Context
	cancel context.CancelFunc
	// held counts the saves using each image built only for the cache (a
	// stage built again with cache metadata, untagged). Two build targets
	// of one Dockerfile build a stage they share to the same ID: the
	// first save to end must not remove it under the other's push.
	heldMu sync.Mutex
	held   map[string]int
	stageSaves
}

// layerRun returns the run's layer cache state, made on first use.
func (e *Env) layerRun() *layerCache {
	e.layersMu.Lock()
	defer e.layersMu.Unlock()
	if e.layerState == nil {
		ctx, cancel := context.WithCancel(context.Background())
		e.layerState = &layerCache{ctx: ctx, cancel: cancel}
	}
	return e.layerState
}

// LayerRegistry starts the loopback registry serving the store.
func (e *Env) LayerRegistry() (*ocicache.Server, error) {
	lc := e.layerRun()
	lc.once.Do(func() { lc.srv, lc.err = e.Layers.Serve() })
	return lc.srv, lc.err
}

// Background runs a save off the critical path: the target's dependents
// start meanwhile. FinishSaves waits for it.
func (e *Env) Background(f func(ctx context.Context)) {
	lc := e.layerRun()
	lc.saves.Add(1)
	go func() {
		defer lc.saves.Done()
		f(lc.ctx)
	}()
}

// HoldImage notes that a save uses image id, which it built only for the
// image cache; ReleaseImage says when the last such save is done with it.
func (e *Env) HoldImage(id string) {
	lc := e.layerRun()
	lc.heldMu.Lock()
	defer lc.heldMu.Unlock()
	if lc.held == nil {
		lc.held = map[string]int{}
	}
	lc.held[id]++
}

// ReleaseImage ends a HoldImage; it returns true when no save holds the
// image any more, and the caller is to remove it.
func (e *Env) ReleaseImage(id string) bool {
	lc := e.layerRun()
	lc.heldMu.Lock()
	defer lc.heldMu.Unlock()
	lc.held[id]--
	if lc.held[id] > 0 {
		return false
	}
	delete(lc.held, id)
	return true
}

// FinishSaves ends the run's image cache work and stops the registry;
// dtask calls it before it exits. With stop false it waits for the saves
// still running, so that what the run built is in the cache folder a CI
// job keeps. With stop true (Ctrl-C, or a run outside CI, whose engine
// keeps what it built, so that waiting would only delay the exit) it stops
// them; a stopped save leaves its stage entries out of the store, so that
// the next build saves them again instead of trusting stale ones.
func (e *Env) FinishSaves(stop bool) {
	e.layersMu.Lock()
	lc := e.layerState
	e.layersMu.Unlock()
	if lc == nil {
		return
	}
	// Saves still running use the registry: forget it only after them.
	defer func() {
		e.layersMu.Lock()
		e.layerState = nil
		e.layersMu.Unlock()
	}()
	if stop {
		lc.cancel()
	}
	end := e.Span("waiting at exit for the saves")
	lc.saves.Wait()
	end()
	lc.cancel()
	if lc.srv != nil {
		_ = lc.srv.Close()
	}
}

// SaveLayers copies images from the engine into the store, each under
// its tag (tag -> image ID), in one docker save: layers the images share
// cross once, and layers the store has are not written again.
func (e *Env) SaveLayers(ctx context.Context, cli *docker.Client, tags map[string]string) error {
	defer e.Span(fmt.Sprintf("saving %d images", len(tags)))()
	if e.ImageStore(ctx, cli) == imagecache.StoreContainerd {
		return e.PushLayers(ctx, cli, tags)
	}
	var ids []string
	for _, id := range tags {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	res, err := cli.ImageSave(ctx, ids)
	if err != nil {
		return fmt.Errorf("saving to the image cache: %w", err)
	}
	defer res.Close()
	got, err := e.Layers.Import(res, ids)
	if err != nil {
		return fmt.Errorf("saving to the image cache: %w", err)
	}
	for tag, id := range tags {
		if err := e.tagLayers(ctx, tag, id, got[id]); err != nil {
			return err
		}
	}
	return e.pruneLayers(ctx)
}

// NameLayers makes tag name the store's entry of image id, which another
// save made under its own tag.
func (e *Env) NameLayers(ctx context.Context, tag, id string) error {
	d, ok := e.Layers.ByImageID(id)
	if !ok {
		return fmt.Errorf("saving to the image cache: no entry holds image %s", ShortID(id))
	}
	return e.tagLayers(ctx, tag, id, d)
}

// tagLayers makes tag name entry d, which holds image id, in the store
// and in the registry serving it to this run's builds.
func (e *Env) tagLayers(ctx context.Context, tag, id string, d v1.Descriptor) error {
	d.Annotations = map[string]string{ocicache.AnnotationImageID: id}
	if err := e.Layers.Tag(ctx, tag, d); err != nil {
		return fmt.Errorf("saving to the image cache: %w", err)
	}
	if srv, _ := e.LayerRegistry(); srv != nil {
		_ = srv.Add(tag, d)
	}
	return nil
}

// pruneLayers keeps the layout within cache.max_size after a save,
// dropping the least recently used entries.
func (e *Env) pruneLayers(ctx context.Context) error {
	max := int64(imagecache.DefaultMaxSize)
	if e.Images != nil {
		max = e.Images.MaxSize
	}
	if _, err := e.Layers.Prune(ctx, max); err != nil {
		return fmt.Errorf("pruning the image cache: %w", err)
	}
	return nil
}

// PushLayers saves images from the containerd image store by pushing
// them to the loopback registry: the store keeps their blobs compressed
// as built, so the engine only asks which blobs the layout has and sends
// the others, where docker save would export every layer again. The
// pushed name is removed at once.
func (e *Env) PushLayers(ctx context.Context, cli *docker.Client, tags map[string]string) error {
	srv, err := e.LayerRegistry()
	if err != nil {
		return err
	}
	for tag, id := range tags {
		if err := pushOne(ctx, cli, srv.Ref(tag), id); err != nil {
			return fmt.Errorf("saving %s to the image cache: %w", ShortID(id), err)
		}
		d, ok := e.Layers.Resolve(tag)
		if !ok {
			return fmt.Errorf("saving %s to the image cache: the push left no entry", ShortID(id))
		}
		d.Annotations = map[string]string{ocicache.AnnotationImageID: id}
		if err := e.Layers.Tag(ctx, tag, d); err != nil {
			return fmt.Errorf("saving to the image cache: %w", err)
		}
	}
	return e.pruneLayers(ctx)
}

// pushOne pushes image id to the loopback registry as ref, a name made
// for the push and removed after it whatever happened: also when the tag
// request failed, since a request cut short (a save stopped at exit) may
// have tagged the image in the engine all the same, and a name left there
// outlives the registry it names. Force, because on the containerd store
// the engine refuses to remove an image's only name (an untagged build)
// while a container uses it, and the test container is often running by
// then; forced, it keeps the image, unnamed.
func pushOne(ctx context.Context, cli *docker.Client, ref, id string) error {
	defer func() {
		rctx, cancel := Detached(ctx)
		defer cancel()
		_, _ = cli.ImageRemove(rctx, ref, client.ImageRemoveOptions{Force: true})
	}()
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref}); err != nil {
		return fmt.Errorf("naming it for the push: %w", err)
	}
	resp, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: "e30="}) // {}: no credentials
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// PullLayers makes the engine have image id, saved in the store, by
// pulling it from the loopback registry (only the layers the engine
// lacks move), and names it refs. ok is false when the store lacks it.
func (e *Env) PullLayers(ctx context.Context, cli *docker.Client, id string, refs []string, progress func(string)) (bool, error) {
	if e.Layers == nil {
		return false, nil
	}
	if have, err := cli.ImageID(ctx, id); err != nil || have != "" {
		if err != nil {
			return false, err
		}
		return true, tagAll(ctx, cli, id, refs)
	}
	d, found := e.Layers.ByImageID(id)
	if !found {
		return false, nil
	}
	srv, err := e.LayerRegistry()
	if err != nil {
		return false, err
	}
	if err := srv.Add("", d); err != nil {
		return false, err
	}
	_ = e.Layers.Touch(ctx, d.Annotations[ocicache.AnnotationRef])
	src := srv.DigestRef(d.Digest)
	if progress != nil {
		progress("restoring " + ShortID(id) + " from the image cache")
	}
	end := e.Span("restoring " + ShortID(id))
	resp, err := cli.ImagePull(ctx, src, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	end()
	if err != nil {
		return false, fmt.Errorf("restoring image %s from the image cache: %w", ShortID(id), err)
	}
	// The pull left a name that means nothing once the registry is gone.
	// It goes once refs name the image; as its only name, removing it
	// would delete the image just restored (a built service's image, asked
	// for by ID: "No such image" when its container was created).
	if slices.ContainsFunc(refs, func(r string) bool { return r != "" && r != id }) {
		defer func() {
			rctx, cancel := Detached(ctx)
			defer cancel()
			_, _ = cli.ImageRemove(rctx, src, client.ImageRemoveOptions{})
		}()
	}
	have, err := cli.ImageID(ctx, src)
	if err != nil {
		return false, err
	}
	if have != id {
		return false, fmt.Errorf("restoring image %s from the image cache: the engine made it %s", ShortID(id), ShortID(have))
	}
	return true, tagAll(ctx, cli, id, refs)
}

// tagAll makes each of refs name image id.
func tagAll(ctx context.Context, cli *docker.Client, id string, refs []string) error {
	for _, ref := range refs {
		if ref == "" || ref == id {
			continue
		}
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref}); err != nil {
			return fmt.Errorf("tagging %s as %s: %w", ShortID(id), ref, err)
		}
	}
	return nil
}

// LayerHas says the store can restore image id.
func (e *Env) LayerHas(id string) bool {
	if e.Layers == nil || !strings.HasPrefix(id, "sha256:") {
		return false
	}
	_, ok := e.Layers.ByImageID(id)
	return ok
}
