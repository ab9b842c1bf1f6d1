package build

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// The OCI layout store across fresh engines, on whatever engine
// DOCKER_HOST names (classic or containerd image store): a cached run
// loads nothing; after a change the slow stage is a cache hit imported
// from the store through the loopback registry; a run target whose image
// is in the store only gets that very image (same ID) pulled from it; and
// the engine is left with no name dtask made for its bookkeeping.
func TestLayerCacheAcrossFreshEngines(t *testing.T) {
	p := newICProject(t, "buildkit")
	p.layout = filepath.Join(t.TempDir(), "layout")
	img := "img" + p.tok

	rep := p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("first run: %v %v", rep.res[img].Status, rep.res["test"].Status)
	}
	finalID := rep.res[img].Outputs["image"]
	nonce := p.depNonce(rep.out.String())
	store := ocicache.Open(p.layout, nil)
	svcImage := p.file.Services["svc"].Image
	for _, tag := range []string{img + ".image", img + ".latest", img + ".stage-deps", targets.RefTag(svcImage)} {
		if _, ok := store.Resolve(tag); !ok {
			t.Fatalf("the store has no %s after the first run", tag)
		}
	}
	// The base image, FROM image and service image, was in the engine at
	// the start of the run: the machine provides it, it is not carried.
	for _, tag := range []string{testBaseTag(img, p.base), targets.RefTag(p.base)} {
		if _, ok := store.Resolve(tag); ok {
			t.Errorf("the store has %s, an image the engine had", tag)
		}
	}
	if d, _ := store.ByImageID(finalID); d.Size == 0 {
		t.Fatalf("the store has no entry for the built image %s", finalID)
	}
	// The build carries inline cache metadata itself, on every image
	// store: the image is its own cache source, saved once, not built
	// again beside the test.
	image, _ := store.Resolve(img + ".image")
	latest, _ := store.Resolve(img + ".latest")
	if image.Digest != latest.Digest {
		t.Errorf("%s.latest is %s and %s.image %s; want the same entry", img, latest.Digest, img, image.Digest)
	}
	p.noBookkeepingNames()
	p.restoresPulledService(svcImage, img)

	p.freshEngine()
	rep = p.run()
	if rep.res[img].Status != engine.Cached || rep.res["test"].Status != engine.Cached {
		t.Fatalf("fresh engine: %v (%s), %v (%s); want both cached", rep.res[img].Status, rep.res[img].Reason, rep.res["test"].Status, rep.res["test"].Reason)
	}
	if p.has(finalID) {
		t.Error("a cached target's image was restored though nothing ran")
	}

	os.WriteFile(filepath.Join(p.file.Dir, "app.txt"), []byte("two\n"), 0o644)
	p.freshEngine()
	rep = p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("after a change: %v %v", rep.res[img].Status, rep.res["test"].Status)
	}
	out := rep.out.String()
	if got := p.depNonce(out); got != nonce {
		t.Errorf("the deps stage ran again (nonce %s, was %s): no cache hit from the store\n%s", got, nonce, out)
	}
	if !strings.Contains(out, "two\ndeps-"+p.tok) {
		t.Errorf("test output %q", out)
	}
	// The service image, which the registry no longer has, came from the
	// layout again.
	if !p.has(svcImage) {
		t.Errorf("the service image %s was not restored from the store", svcImage)
	}
	changedID := rep.res[img].Outputs["image"]
	p.created[changedID] = true

	// The test's definition changes, the image's does not: the image is
	// restored from the store, by the ID its build recorded.
	p.file.Targets["test"].Run.Cmd = []string{"cat", "/dep", "/app.txt"}
	p.freshEngine()
	rep = p.run()
	if rep.res[img].Status != engine.Cached || rep.res["test"].Status != engine.Ran {
		t.Fatalf("changed test: %v %v\n%s", rep.res[img].Status, rep.res["test"].Status, rep.out.String())
	}
	if !regexp.MustCompile(`deps-` + p.tok + `-[0-9a-f]+\ntwo`).MatchString(rep.out.String()) {
		t.Errorf("test output %q", rep.out.String())
	}
	if !p.has(changedID) {
		t.Errorf("image %s was not restored from the store", changedID)
	}
	p.noBookkeepingNames()
	if len(p.warnings) > 0 {
		t.Errorf("warnings: %q", p.warnings)
	}
}

// noBookkeepingNames fails if the engine has a name dtask gave an image
// of this test for its own use: stage tags, the loopback registry's
// references. Other tests and dtask runs share the engine, and a restore
// in progress there holds such a name for a moment: only this test's
// names (they carry its token) count.
func (p *icProject) noBookkeepingNames() {
	p.t.Helper()
	res, err := p.cli.ImageList(context.Background(), client.ImageListOptions{All: true})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, im := range res.Items {
		for _, ref := range append(im.RepoTags, im.RepoDigests...) {
			loopback := strings.HasPrefix(ref, "127.0.0.1:") && strings.Contains(ref, ocicache.Repo)
			if (loopback || strings.HasPrefix(ref, "dtask-cache/")) && strings.Contains(ref, p.tok) {
				p.t.Errorf("the engine keeps %s", ref)
			}
		}
	}
}
