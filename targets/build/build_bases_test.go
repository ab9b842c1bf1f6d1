package build

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

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
