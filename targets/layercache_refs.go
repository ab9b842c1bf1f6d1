package targets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// RefTag is the layout's name for an image kept by its name (a service's
// image): a hash of the name, so that two names never share an entry, and
// the name made tag-safe, for a person reading --cache list.
func RefTag(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	t := "ref-" + hex.EncodeToString(sum[:8]) + "." + TagPart(ref)
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// layerRefID is the image ID the layout keeps for ref, if it has one.
func (e *Env) layerRefID(ref string) (string, bool) {
	if e.Layers == nil {
		return "", false
	}
	d, ok := e.Layers.Resolve(RefTag(ref))
	if !ok {
		return "", false
	}
	id := d.Annotations[ocicache.AnnotationImageID]
	return id, id != ""
}

// SaveRef keeps image id in the layout under its name ref, in the
// background; an image the layout has under that name is not read again.
// It reports false when the run keeps no layout.
func (e *Env) SaveRef(cli *docker.Client, ref, id string) bool {
	if e.Layers == nil {
		return false
	}
	if have, ok := e.layerRefID(ref); ok && have == id {
		return true
	}
	e.Background(func(ctx context.Context) {
		if err := e.SaveLayers(ctx, cli, map[string]string{RefTag(ref): id}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "warning: image %s: %v\n", ref, err)
		}
	})
	return true
}

// loadRef makes the engine have ref from the layout, when it keeps it.
func (e *Env) loadRef(ctx context.Context, cli *docker.Client, ref string, progress func(string)) (string, bool, error) {
	id, ok := e.layerRefID(ref)
	if !ok {
		return "", false, nil
	}
	ok, err := e.PullLayers(ctx, cli, id, []string{ref}, progress)
	return id, ok && err == nil, err
}
