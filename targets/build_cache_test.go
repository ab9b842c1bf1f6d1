package targets

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// icReporter keeps each target's result and all output.
type icReporter struct {
	mu  sync.Mutex
	res map[string]*engine.Result
	out syncBuffer
}

func (r *icReporter) Start(string, string)                 {}
func (r *icReporter) Output(string) (io.Writer, io.Writer) { return &r.out, &r.out }
func (r *icReporter) Progress(string, string)              {}
func (r *icReporter) Finish(res *engine.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res[res.Target] = res
}

// icProject is a task file with a two-stage build (a slow dependency
// stage), a test run of its image with a service, and a state folder
// that outlives "fresh engines".
type icProject struct {
	t        *testing.T
	file     *taskfile.File
	state    string
	tok      string
	cli      *docker.Client
	warnings []string
	created  map[string]bool // image IDs and tags this test made
	svcID    string
}

func newICProject(t *testing.T, builder string) *icProject {
	e := testEnv(t)
	needImage(t, "busybox:latest")
	cli, err := e.Docker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &icProject{t: t, file: e.File, state: filepath.Join(e.File.Dir, ".dtask"), tok: randHex(5), cli: cli, created: map[string]bool{}}
	dir := e.File.Dir
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(
		"FROM busybox:latest AS deps\n"+
			"RUN sleep 5 && echo deps-"+p.tok+" > /dep\n"+
			"FROM busybox:latest\n"+
			"COPY --from=deps /dep /dep\n"+
			"COPY app.txt /app.txt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.txt"), []byte("one\n"), 0o644)
	tag := "dtask-test/ic-" + p.tok + ":dev"
	svcImage := "dtask-test/icsvc-" + p.tok + ":1"
	p.created[tag] = true
	p.created[svcImage] = true
	// A service image no fixture shares an ID with, so that a fresh engine
	// really lacks it.
	cmd := exec.Command("docker", "build", "-q", "-t", svcImage, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader("FROM busybox:latest\nLABEL dtask.test=" + p.tok + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the service image: %v\n%s", err, out)
	}
	t.Cleanup(func() { p.removeAll() })
	p.svcID, _ = cli.ImageID(context.Background(), svcImage)
	e.File.Services["svc"] = &taskfile.Service{Name: "svc", Image: svcImage, Cmd: []string{"sleep", "120"}}
	e.File.Targets["img"+p.tok] = &taskfile.Target{Name: "img" + p.tok, Build: &taskfile.Build{Context: ".", Tags: []string{tag}, Builder: builder}}
	e.File.Targets["test"] = &taskfile.Target{Name: "test", Deps: []string{"img" + p.tok}, Services: []string{"svc"},
		Run: &taskfile.Run{Image: tag, Cmd: []string{"cat", "/app.txt", "/dep"}}}
	return p
}

// run runs the test target as a new dtask process would.
func (p *icProject) run() *icReporter {
	p.t.Helper()
	store, err := cache.OpenStore(p.state)
	if err != nil {
		p.t.Fatal(err)
	}
	e := &Env{File: p.file, Project: "ic" + p.tok, RunID: "run" + randHex(6), StateDir: p.state,
		Secret: func(string) (string, error) { return "", nil }, Mask: func(string) {}}
	e.UseImageCache(imagecache.Open(filepath.Join(p.state, "images"), 50_000_000, store))
	defer e.UseImageCache(nil)
	e.Images.Warn = func(msg string) { p.warnings = append(p.warnings, msg) }
	rep := &icReporter{res: map[string]*engine.Result{}}
	r := &engine.Runner{File: p.file, Store: store, Index: cache.OpenIndex(store.IndexPath()),
		Actions: e.Action, Reporter: rep, Opts: engine.Options{Jobs: 2}}
	_, err = r.Run(context.Background(), []string{"test"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.Cleanup(ctx)
	for _, res := range rep.res {
		if id := res.Outputs["image"]; id != "" {
			p.created[id] = true
		}
	}
	if err != nil {
		for _, res := range rep.res {
			if res.Err != nil {
				p.t.Logf("%s: %v", res.Target, res.Err)
			}
		}
		p.t.Fatalf("run: %v\nwarnings: %q\n%s", err, p.warnings, rep.out.String())
	}
	return rep
}

// entries lists the cache's entries as stored.
func (p *icProject) entries() []imagecache.Entry {
	files, _ := filepath.Glob(filepath.Join(p.state, "images", "entries", "*.json"))
	var out []imagecache.Entry
	for _, f := range files {
		var e imagecache.Entry
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// freshEngine removes every image the test built and prunes the builder
// cache, keeping the state folder: a CI job on a new machine.
func (p *icProject) freshEngine(keep ...string) {
	p.t.Helper()
	for _, e := range p.entries() {
		if e.Kind != imagecache.KindBase {
			p.created[e.ID] = true
			for _, r := range e.Refs {
				p.created[r] = true
			}
		}
	}
	p.removeAll(keep...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true}); err != nil {
		p.t.Logf("pruning the builder cache: %v", err)
	}
	for ref := range p.created {
		if p.has(ref) && !slices.Contains(keep, ref) && (len(keep) == 0 || ref != p.svcID) {
			p.t.Fatalf("%s is still in the engine", ref)
		}
	}
}

// removeAll removes the images the test made but those in keep (and the
// service image's ID when it is kept).
func (p *icProject) removeAll(keep ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, e := range p.entries() {
		if e.Kind != imagecache.KindBase {
			for _, r := range e.Refs {
				p.created[r] = true
			}
		}
	}
	// Tags first, then IDs, so that an ID is not kept by a tag.
	for pass := 0; pass < 2; pass++ {
		for ref := range p.created {
			if slices.Contains(keep, ref) || len(keep) > 0 && ref == p.svcID {
				continue
			}
			if strings.HasPrefix(ref, "sha256:") == (pass == 1) {
				_, _ = p.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
		}
	}
}

func (p *icProject) has(ref string) bool {
	id, err := p.cli.ImageID(context.Background(), ref)
	return err == nil && id != ""
}

func (p *icProject) blobs() []string {
	files, _ := filepath.Glob(filepath.Join(p.state, "images", "blobs", "*"))
	return files
}

func TestImageCacheAcrossFreshEngines(t *testing.T) {
	for _, builder := range []string{"", "classic"} {
		name := builder
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) { testImageCacheAcrossFreshEngines(t, builder) })
	}
}

func testImageCacheAcrossFreshEngines(t *testing.T, builder string) {
	p := newICProject(t, builder)
	img := "img" + p.tok
	svcImage := p.file.Services["svc"].Image

	rep := p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("first run: %v %v", rep.res[img].Status, rep.res["test"].Status)
	}
	finalID := rep.res[img].Outputs["image"]
	kinds := map[string]int{}
	for _, e := range p.entries() {
		kinds[e.Kind]++
	}
	if kinds[imagecache.KindBuild] != 1 || kinds[imagecache.KindStage] != 1 || kinds[imagecache.KindService] != 1 {
		t.Fatalf("saved %v, want the image, its deps stage and the service image", kinds)
	}

	// A fresh engine with the state folder restored: nothing runs and
	// nothing is loaded, since nothing that runs needs an image.
	p.freshEngine()
	rep = p.run()
	if rep.res[img].Status != engine.Cached || rep.res["test"].Status != engine.Cached {
		t.Fatalf("fresh engine: %s %v (%s), test %v (%s); want both cached\n%s", img, rep.res[img].Status, rep.res[img].Reason, rep.res["test"].Status, rep.res["test"].Reason, rep.out.String())
	}
	if p.has(finalID) || p.has(svcImage) {
		t.Error("a cached target's image was loaded though nothing ran")
	}

	// One source change: only the last stage rebuilds; the slow stage is
	// a cache hit from the loaded stage image.
	os.WriteFile(filepath.Join(p.file.Dir, "app.txt"), []byte("two\n"), 0o644)
	rep = p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("after a change: %v %v", rep.res[img].Status, rep.res["test"].Status)
	}
	if d := rep.res[img].Duration; d >= 5*time.Second {
		t.Errorf("the build took %s: the sleep 5 stage was not a cache hit\n%s", d, rep.out.String())
	}
	t.Logf("build after one change on a fresh engine: %s", rep.res[img].Duration)
	if out := rep.out.String(); !strings.Contains(out, "two\ndeps-"+p.tok) {
		t.Errorf("test output %q", out)
	}
	if !p.has(svcImage) {
		t.Error("the service image was not loaded from the cache")
	}
	if len(p.warnings) > 0 {
		t.Errorf("warnings: %q", p.warnings)
	}

	// A damaged archive is reported once, dropped, and the build runs in
	// full. (The service image stays: nothing could pull it here.)
	p.freshEngine(svcImage)
	for _, b := range p.blobs() {
		if fi, err := os.Stat(b); err == nil {
			os.Truncate(b, fi.Size()/2)
		}
	}
	os.WriteFile(filepath.Join(p.file.Dir, "app.txt"), []byte("three\n"), 0o644)
	rep = p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("with a damaged cache: %v %v\n%s", rep.res[img].Status, rep.res["test"].Status, rep.out.String())
	}
	if len(p.warnings) != 1 || !strings.Contains(p.warnings[0], "damaged") {
		t.Errorf("warnings %q, want one about the damaged archive", p.warnings)
	}
	if d := rep.res[img].Duration; d < 5*time.Second {
		t.Errorf("the build took %s with the cache damaged: was anything loaded?", d)
	}

	// The budget (50MB here) holds, and the layers are whole again.
	ic := imagecache.Open(filepath.Join(p.state, "images"), 50_000_000, nil)
	list, total, err := ic.List(context.Background())
	if err != nil || total > ic.MaxSize || len(list) == 0 {
		t.Errorf("cache: %d entries, %d bytes (budget %d), %v", len(list), total, ic.MaxSize, err)
	}
	for _, e := range list {
		if !ic.Has(e.ID) {
			t.Errorf("%s is damaged after a re-save", imagecache.ShortID(e.ID))
		}
	}
}
