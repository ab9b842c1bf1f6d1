package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// A FROM image that Plan found in the engine is not inspected again just
// before the build (up to 0.1 s on the containerd store); one Plan did not
// find is, since the store may restore it.
func TestPrepareLayersAsksOnlyForBasesPlanLacked(t *testing.T) {
	f, a := plannedWithBases(t)
	ctx, e := context.Background(), a.e
	cli, err := e.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.loadContext(false)
	if err != nil {
		t.Fatal(err)
	}
	before := inspects(f)
	if bl := a.prepareLayers(ctx, cli, c, &engine.Exec{Stdout: io.Discard, Stderr: io.Discard}); bl == nil {
		t.Fatal("no layer cache")
	}
	if n := inspects(f) - before; n != 1 {
		t.Errorf("%d image inspects before the build; want 1 (lack:1 only)", n)
	}
}

func inspects(f *fakedocker.Engine) int {
	n := 0
	for _, c := range f.Calls() {
		if c == "ImageInspect" {
			n++
		}
	}
	return n
}

// A FROM image the engine had when Plan looked is the machine's to
// provide: it is not saved in the image cache. One the engine lacked (the
// build pulled it) is.
func TestSaveKeepsOnlyBasesTheEngineLacked(t *testing.T) {
	f, a := plannedWithBases(t)
	ctx := context.Background()
	lackID := f.AddImage("lack:1") // the build pulled it
	bl := &buildLayers{a: a}
	tags := map[string]string{}
	bl.addBase(ctx, f.Client(), tags, "img.base-0", "have:1")
	bl.addBase(ctx, f.Client(), tags, "img.base-1", "lack:1")
	if len(tags) != 1 || tags["img.base-1"] != lackID {
		t.Errorf("saving %v; want only img.base-1 (lack:1, %s)", tags, lackID)
	}
}

// plannedWithBases plans a build FROM have:1, which the fake engine has,
// and lack:1, which it lacks, with an OCI layout store.
func plannedWithBases(t *testing.T) (*fakedocker.Engine, *buildAction) {
	f := fakedocker.New()
	f.AddImage("have:1")
	dir := t.TempDir()
	df := "FROM have:1 AS a\nRUN true\nFROM lack:1\nCOPY --from=a /x /x\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := &taskfile.Target{Name: "img", Build: &taskfile.Build{Context: "."}}
	e := &targets.Env{
		File:   &taskfile.File{Dir: dir, Targets: map[string]*taskfile.Target{"img": tg}},
		Dial:   f.Dial,
		Layers: ocicache.Open(filepath.Join(t.TempDir(), "layout"), nil),
	}
	t.Cleanup(func() { e.FinishSaves(true) })
	a := New(e, tg).(*buildAction)
	if err := a.plan(context.Background(), &btPlanner{}); err != nil {
		t.Fatal(err)
	}
	return f, a
}

// The layout keeps a FROM image the build pulled under a name of that
// image, not of its place among the FROM lines: after the Dockerfile
// moves to another base, the old one is neither keyed nor restored as the
// new one. (Kept as base-0, it was: a fresh engine built FROM the old
// image under the new name, and the key said it was the new base.)
func TestSavedBaseIsFoundByItsOwnName(t *testing.T) {
	f, a := plannedWithBases(t)
	ctx := context.Background()
	oldID := f.AddImage("old:1")
	bl := &buildLayers{a: a}
	tags := map[string]string{}
	bl.addBase(ctx, f.Client(), tags, a.baseTag("old:1"), "old:1")
	for tag, id := range tags {
		putEntry(t, a.e.Layers, tag, id)
	}
	if _, err := f.ImageRemove(ctx, "old:1", client.ImageRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := a.cachedBase("old:1"); got != oldID {
		t.Errorf("old:1 in the layout: %q, want %s", got, oldID)
	}
	if got := a.cachedBase("lack:1"); got != "" {
		t.Errorf("lack:1, never saved, found in the layout as %s", got)
	}
}

// An entry the layout holds for a FROM image of an earlier Dockerfile,
// saved as base-1 by the build that pulled it, is not taken for the
// Dockerfile's FROM image now: neither keyed as its ID nor restored under
// its name (a fresh engine would build FROM the old image).
func TestBaseSavedForAnotherFromIsNotUsed(t *testing.T) {
	f, a := plannedWithBases(t)
	ctx := context.Background()
	putEntry(t, a.e.Layers, "img.base-1", "sha256:"+strings.Repeat("0", 63)+"1")
	p := &btPlanner{}
	if err := a.plan(ctx, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.lines, "image.from lack:1=missing") {
		t.Errorf("key lines %q; want lack:1 missing", p.lines)
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.loadContext(false)
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	a.prepareLayers(ctx, cli, c, &engine.Exec{Stdout: io.Discard, Stderr: &stderr})
	if n := slices.Index(f.Calls(), "ImagePull"); n >= 0 {
		t.Errorf("the build restored an image for lack:1 from another FROM's entry (%s)", stderr.String())
	}
}

// putEntry tags a complete entry (a config and a manifest, no layers)
// for engine image id in the layout.
func putEntry(t *testing.T, s *ocicache.Store, tag, id string) {
	t.Helper()
	cfg, err := s.PutBytes([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`, cfg.Digest, cfg.Size)
	d, err := s.PutBytes([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	d.MediaType = types.OCIManifestSchema1
	d.Annotations = map[string]string{ocicache.AnnotationImageID: id}
	if err := s.Tag(context.Background(), tag, d); err != nil {
		t.Fatal(err)
	}
}
