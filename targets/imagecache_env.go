package targets

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// UseImageCache makes the run keep and load images with c (nil: none).
func (e *Env) UseImageCache(c *imagecache.Cache) { e.Images = c }

// ownerEnv returns the Env whose default engine cli is, or nil.
// EnsureImage and PlanImageID get only a client: the run's caches apply
// when that client is the one its Env connected, never to a deploy engine
// elsewhere.
func ownerEnv(cli *docker.Client) *Env {
	if cli == nil {
		return nil
	}
	e, _ := cli.Owner.(*Env)
	return e
}

// cacheEnv returns the Env with an image cache whose engine cli is, or nil.
func cacheEnv(cli *docker.Client) *Env {
	if e := ownerEnv(cli); e != nil && e.Images != nil {
		return e
	}
	return nil
}

// ImageStore detects the engine's image store once per run.
func (e *Env) ImageStore(ctx context.Context, cli *docker.Client) string {
	e.storeOnce.Do(func() {
		e.store = imagecache.StoreClassic
		if res, err := cli.Info(ctx, client.InfoOptions{}); err == nil {
			e.store = imagecache.DetectStore(res.Info)
		}
	})
	return e.store
}

// LoadCached loads ref from the image cache when the engine lacks it and
// the layout (or an older archive) has it. ok is false when the cache cannot help.
func (e *Env) LoadCached(ctx context.Context, cli *docker.Client, ref string, have []string, progress func(string)) (id string, ok bool, err error) {
	if id, ok, err := e.loadRef(ctx, cli, ref, progress); err != nil || ok {
		return id, ok, err
	}
	if e.Images == nil {
		return "", false, nil
	}
	id, found := e.Images.Lookup(ref)
	if !found {
		return "", false, nil
	}
	ok, err = e.Images.Load(ctx, cli, id, imagecache.LoadOptions{
		Have:       have,
		SkipShared: e.ImageStore(ctx, cli) == imagecache.StoreClassic,
		Progress:   TransferProgress(progress, "loading "+ref+" from the image cache"),
		Ref:        ref,
	})
	return id, ok && err == nil, err
}

// loadByID makes the engine have image id under ref (moved to it if it
// names another image), loading the image from the cache if needed.
func (e *Env) loadByID(ctx context.Context, cli *docker.Client, id, ref string, progress func(string)) (bool, error) {
	return e.Images.Load(ctx, cli, id, imagecache.LoadOptions{
		SkipShared: e.ImageStore(ctx, cli) == imagecache.StoreClassic,
		Progress:   TransferProgress(progress, "loading "+ref+" from the image cache"),
		Ref:        ref,
	})
}

// CacheImage keeps image id in the cache; a failure is a warning, never
// the target's failure.
func (e *Env) CacheImage(ctx context.Context, cli *docker.Client, id string, info imagecache.Info, progress func(string), warn func(string)) {
	if e.Images == nil || id == "" {
		return
	}
	name := imagecache.ShortID(id)
	if len(info.Refs) > 0 {
		name = info.Refs[0]
	}
	_, err := e.Images.Save(ctx, cli, id, info, TransferProgress(progress, "saving "+name+" to the image cache"))
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, imagecache.ErrTooLarge):
		// Not a fault: the budget is the user's choice. Said once, with -v.
		if _, said := e.tooLarge.LoadOrStore(id, true); e.Verbose && !said {
			warn(fmt.Sprintf("note: %v", err))
		}
	default:
		warn(fmt.Sprintf("warning: %v", err))
	}
}

// TransferProgress turns byte counts into progress lines.
func TransferProgress(progress func(string), what string) imagecache.Progress {
	if progress == nil {
		return nil
	}
	return func(done, total int64) {
		progress(fmt.Sprintf("%s: %s / %s", what, imagecache.FormatSize(done), imagecache.FormatSize(total)))
	}
}
