package build

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/regularfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/dockerfile"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// buildPlanner is the part of *engine.Plan a build fills in; tests hash
// through their own.
type buildPlanner interface {
	Def(label string, v any)
	Image(label, id string)
	ImageToFetch(label, placeholder string, resolve func(context.Context) (string, error))
	Input(label, value string)
	Files(root string, rel []string) error
}

// Plan keys the build on its definition as written (secret names only,
// no timestamps), every file the context sends, the shape of the context
// tree, and the local IDs of the FROM images.
func (a *buildAction) Plan(ctx context.Context, p *engine.Plan) error { return a.plan(ctx, p) }

func (a *buildAction) plan(ctx context.Context, p buildPlanner) error {
	c, err := a.loadContext(true)
	if err != nil {
		return err
	}
	src, err := regularfile.Read(c.Dockerfile, buildctx.MaxDockerfile) // -n reads it: never /dev/zero
	if err != nil {
		return err
	}
	p.Def("build", a.b)
	keyed := keyedContext(c, src)
	if err := p.Files(c.Dir, keyed.Files()); err != nil {
		return err
	}
	p.Input("build.tree", keyed.Tree())
	if c.Outside {
		if err := p.Files(filepath.Dir(c.Dockerfile), []string{filepath.Base(c.Dockerfile)}); err != nil {
			return err
		}
	}
	a.setLocal(nil)
	bases, err := a.basesOf(c, src)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		return nil
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return err
	}
	local := map[string]bool{}
	defer a.setLocal(local)
	for _, ref := range bases {
		id, err := cli.ImageID(ctx, ref)
		if err != nil {
			return err
		}
		if id != "" {
			local[ref] = true
		} else {
			id = a.cachedBase(ref)
		}
		if id == "" {
			// The build will pull it or fail. The classic builder
			// leaves it in the engine, and the success is recorded
			// with its ID, which the next run finds there; BuildKit
			// keeps it to itself (both image stores), and the key
			// keeps the placeholder, which the next run has too.
			p.ImageToFetch("from "+ref, "missing", func(ctx context.Context) (string, error) { return cli.ImageID(ctx, ref) })
			continue
		}
		p.Image("from "+ref, id)
	}
	return nil
}

// keyedContext is what of context c the key hashes for the Dockerfile
// src: all of it, but the git folder when no step can read it. Every git
// command writes there, yet the image is the same whatever it holds.
func keyedContext(c *buildctx.Context, src []byte) *buildctx.Context {
	if strings.HasPrefix(c.Name, ".git/") || dockerfile.MayRead(src, ".git") {
		return c
	}
	return c.Without(".git")
}

// cachedBase is the ID of FROM image ref in the image cache, which the
// build will restore: the archives' image by that name (the classic
// builder's), or the layout's entry for it (saved when the engine had the
// base after a BuildKit build: something else in the run pulled it), or
// "". The key then holds the ID it held on the run that saved the image,
// the one that pulled it.
func (a *buildAction) cachedBase(ref string) string {
	if a.e.Images != nil {
		if id, ok := a.e.Images.Lookup(ref); ok {
			return id
		}
	}
	if a.e.Layers == nil {
		return ""
	}
	d, ok := a.e.Layers.Resolve(a.baseTag(ref))
	if !ok {
		return ""
	}
	return d.Annotations[ocicache.AnnotationImageID]
}

// bases lists the FROM images the build consumes.
func (a *buildAction) bases(c *buildctx.Context) ([]string, error) {
	src, err := regularfile.Read(c.Dockerfile, buildctx.MaxDockerfile) // -n reads it: never /dev/zero
	if err != nil {
		return nil, err
	}
	return a.basesOf(c, src)
}

// basesOf is bases for the Dockerfile's content src.
func (a *buildAction) basesOf(c *buildctx.Context, src []byte) ([]string, error) {
	bases, err := dockerfile.Bases(src, a.b.Args, a.b.Target, a.b.Platform)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Dockerfile, err)
	}
	return bases, nil
}

// Check says the recorded build is still there: its image exists and every
// tag still points at it or is gone (retag), or the image cache holds an
// archive of it. A moved tag makes the target run again, which the
// builder's cache makes cheap. An image in the image cache only is loaded here when
// LoadCachedBuilds asks for it (CachedBuild); otherwise Check changes
// nothing (a dry run calls it too).
func (a *buildAction) Check(ctx context.Context, rec *engine.Record) (bool, string, error) {
	id := targets.BuildOutputOf(rec.Outputs).ImageID
	if id == "" {
		return false, "no image recorded", nil
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return false, "", err
	}
	have, err := cli.ImageID(ctx, id)
	if err != nil {
		return false, "", err
	}
	if have == "" {
		if a.e.LayerHas(id) || a.e.Images != nil && a.e.Images.Has(id) {
			return a.e.CachedBuild(ctx, cli, a.t.Name, id, a.tags())
		}
		if a.e.TeamHas(ctx, id) {
			return a.e.TeamBuild(ctx, cli, a.t.Name, id, a.tags())
		}
		return false, fmt.Sprintf("image %s missing", targets.ShortID(id)), nil
	}
	var untagged []string
	for _, tag := range a.tags() {
		tid, err := cli.ImageID(ctx, tag)
		if err != nil {
			return false, "", err
		}
		if tid == "" {
			untagged = append(untagged, tag)
			continue
		}
		if tid != id {
			return false, fmt.Sprintf("%s now points at %s, not %s", tag, targets.ShortID(tid), targets.ShortID(id)), nil
		}
	}
	return a.e.Retag(ctx, cli, a.t.Name, id, untagged)
}
