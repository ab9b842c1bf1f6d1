package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/ocicache"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// icReporter keeps each target's result and all output.
type icReporter struct {
	mu  sync.Mutex
	res map[string]*engine.Result
	out targettest.SyncBuffer
}

func (r *icReporter) Start(string, string)                 {}
func (r *icReporter) Output(string) (io.Writer, io.Writer) { return &r.out, &r.out }
func (r *icReporter) Progress(string, string)              {}
func (r *icReporter) Finish(res *engine.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res[res.Target] = res
}

// icProject is a task file with a two-stage build (a dependency stage
// whose output carries a nonce, so that a re-run of it shows), a test run
// of its image with a service, and a state folder that outlives "fresh
// engines". Both stages start from a base image of this test's own, so
// that the builder cache records of this test can be told from those of
// builds running alongside (see pruneOwnBuildCache).
type icProject struct {
	t        *testing.T
	file     *taskfile.File
	state    string
	tok      string
	cli      *docker.Client
	warnings []string
	created  map[string]bool // image IDs and tags this test made
	svcID    string
	base     string                                                // this test's FROM image; kept by fresh engines
	roots    map[string]bool                                       // build cache records of base: see pruneOwnBuildCache
	layout   string                                                // the OCI layout store, when the test uses one
	dial     func(context.Context, string) (*docker.Client, error) // Env.Dial, if set
}

func newICProject(t *testing.T, builder string) *icProject {
	e := testEnv(t)
	dockertest.Images(t, "busybox:latest")
	cli, err := e.Docker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &icProject{t: t, file: e.File, state: filepath.Join(e.File.Dir, ".dtask"), tok: targettest.RandHex(5), cli: cli, created: map[string]bool{}}
	dir := e.File.Dir
	p.base = "dtask-test/icbase-" + p.tok + ":1"
	buildClassic(t, p.base, "FROM busybox:latest\nRUN echo "+p.tok+" > /base-tok\n")
	t.Cleanup(func() { // after removeAll, registered below
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = cli.ImageRemove(ctx, p.base, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err := p.pruneOwnBuildCache(true); err != nil {
			t.Log(err)
		}
	})
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(
		"FROM "+p.base+" AS deps\n"+
			"RUN sleep 1 && echo deps-"+p.tok+"-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n') > /dep\n"+
			"FROM "+p.base+"\n"+
			"COPY --from=deps /dep /dep\n"+
			"COPY app.txt /app.txt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.txt"), []byte("one\n"), 0o644)
	tag := "dtask-test/ic-" + p.tok + ":dev"
	svcImage := icRegistry + "/dtask-test/icsvc-" + p.tok + ":1"
	p.created[tag] = true
	p.created[svcImage] = true
	// A service image no fixture shares an ID with, which the engine
	// lacks at the first run (the run pulls it, and so carries it in the
	// image cache) and a fresh engine lacks too.
	buildClassic(t, svcImage, "FROM busybox:latest\nLABEL dtask.test="+p.tok+"\n")
	t.Cleanup(func() { p.removeAll() })
	p.svcID, _ = cli.ImageID(context.Background(), svcImage)
	pushAway(t, p, svcImage)
	e.File.Services["svc"] = &taskfile.Service{Name: "svc", Image: svcImage, Cmd: []string{"sleep", "120"}}
	// A service image the engine has at the start of every run (fresh
	// engines keep the base): the machine's to provide, never carried.
	e.File.Services["local"] = &taskfile.Service{Name: "local", Image: p.base, Cmd: []string{"sleep", "120"}}
	e.File.Targets["img"+p.tok] = &taskfile.Target{Name: "img" + p.tok, Build: &taskfile.Build{Context: ".", Tags: []string{tag}, Builder: builder}}
	e.File.Targets["test"] = &taskfile.Target{Name: "test", Deps: []string{"img" + p.tok}, Services: []string{"svc", "local"},
		Run: &taskfile.Run{Image: tag, Cmd: []string{"cat", "/app.txt", "/dep"}}}
	return p
}

// buildClassic builds a Dockerfile read from stdin with the classic builder.
func buildClassic(t *testing.T, tag, dockerfile string) {
	t.Helper()
	cmd := exec.Command("docker", "build", "-q", "-t", tag, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader(dockerfile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", tag, err, out)
	}
}

// restoresPulledService checks that a fresh engine gets the service
// image the first run pulled from the image cache: the registry no longer
// has it. The test target runs again, since its key now has that image's
// ID where the first run's had a marker for a missing image.
func (p *icProject) restoresPulledService(svcImage, img string) {
	p.t.Helper()
	if err := dropFromRegistry(svcImage); err != nil {
		p.t.Fatal(err)
	}
	p.freshEngine()
	// The first run pulled it: its key holds the ID the cache has.
	rep := p.run()
	if rep.res[img].Status != engine.Cached || rep.res["test"].Status != engine.Cached {
		p.t.Fatalf("fresh engine: %s %v (%s), test %v (%s); want both cached\n%s", img, rep.res[img].Status, rep.res[img].Reason, rep.res["test"].Status, rep.res["test"].Reason, rep.out.String())
	}
	rep = p.run("test")
	if rep.res[img].Status != engine.Cached || rep.res["test"].Status != engine.Ran {
		p.t.Fatalf("fresh engine, test forced: %s %v (%s), test %v (%s); want cached, ran\n%s", img, rep.res[img].Status, rep.res[img].Reason, rep.res["test"].Status, rep.res["test"].Reason, rep.out.String())
	}
	id, err := p.cli.ImageID(context.Background(), svcImage)
	if err != nil || id == "" {
		p.t.Fatalf("the service image %s was not restored from the image cache (%v)", svcImage, err)
	}
	p.svcID = id
}

// run runs the test target as a new dtask process would, forcing the
// targets named.
func (p *icProject) run(force ...string) *icReporter {
	p.t.Helper()
	store, err := cache.OpenStore(p.state)
	if err != nil {
		p.t.Fatal(err)
	}
	e := &targets.Env{File: p.file, Project: "ic" + p.tok, RunID: "run" + targettest.RandHex(6), StateDir: p.state,
		Secret: func(string) (string, error) { return "", nil }, Mask: func(string) {}, Kinds: testKinds(), Dial: p.dial}
	e.UseImageCache(imagecache.Open(filepath.Join(p.state, "images"), 50_000_000, store))
	defer e.UseImageCache(nil)
	if p.layout != "" {
		e.Layers = ocicache.Open(p.layout, store)
	}
	e.Images.Warn = func(msg string) { p.warnings = append(p.warnings, msg) }
	rep := &icReporter{res: map[string]*engine.Result{}}
	r := &engine.Runner{File: p.file, Store: store, Index: cache.OpenIndex(store.IndexPath()),
		Actions: e.Action, Reporter: rep, Opts: engine.Options{Jobs: 2, Verbose: true, Force: map[string]bool{}}}
	for _, name := range force {
		r.Opts.Force[name] = true
	}
	_, err = r.Run(context.Background(), []string{"test"})
	e.FinishSaves(false)
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
	if err := p.pruneOwnBuildCache(false); err != nil {
		p.t.Fatal(err)
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
	// The classic builder's stage images, untagged (an entry for the
	// last one may be missing: a damaged cache).
	if res, err := p.cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: client.Filters{}.Add("label", labelStage)}); err == nil {
		for _, img := range res.Items {
			if strings.Contains(img.Labels[labelStage], p.tok) {
				p.created[img.ID] = true
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

// pruneOwnBuildCache removes BuildKit's cache records of this test's
// builds, and no others: builds of other packages run alongside and count
// on theirs. Every step of this test's builds descends from the snapshot
// of its own base image, found as the parent of the deps stage's step
// (whose description holds the test's token). withRoots removes that
// snapshot too, once the base image is gone.
func (p *icProject) pruneOwnBuildCache(withRoots bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A record a build of the last run was still committing when the
	// engine listed its cache shows only in a later listing (seen at load
	// in CI: the deps step was a cache hit after a "fresh" engine), so
	// list and prune until a listing holds none of this test's records.
	var left []cacheRecord
	for pass := 0; pass < 5; pass++ {
		records, err := p.buildCacheRecords(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(records, func(r cacheRecord) bool { return r.Parent != "" }) {
			// Newer engines list no parents even at API 1.41, so this test's
			// records cannot be told from others': a fresh engine is one with
			// no build cache at all.
			_, err := p.cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true})
			return err
		}
		if left = p.ownRecords(records, withRoots); len(left) == 0 {
			return nil
		}
		for _, r := range left {
			f := client.Filters{}.Add("id", r.ID)
			if _, err := p.cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true, Filters: f}); err != nil {
				return fmt.Errorf("pruning build cache record %s: %w", r.ID, err)
			}
		}
		time.Sleep(time.Duration(pass) * 500 * time.Millisecond)
	}
	return fmt.Errorf("build cache record %s (%s) is still there", left[0].ID, left[0].Description)
}

// ownRecords are this test's records among records, children first (a
// record a child still refers to is not removed): those above a root, and
// those whose description, or an ancestor's, names the test's token.
// BuildKit records the layers of a cache source it imports (the last
// image, loaded in a build after one change) with the image's history as
// description, and may put them on a record of busybox's layer other than
// the root's parent: the base layer then has a second record, described
// "/bin/sh -c echo TOKEN > /base-tok", and the COPY --from=deps result
// above it (described "COPY /dep /dep") would outlive a fresh engine and
// make the deps step a cache hit again (seen once in 28 runs at load 8).
func (p *icProject) ownRecords(records []cacheRecord, withRoots bool) []cacheRecord {
	if p.roots == nil {
		p.roots = map[string]bool{}
	}
	roots := p.roots // kept: a later build may take the deps step from an image
	for _, r := range records {
		if strings.Contains(r.Description, "deps-"+p.tok) && r.Parent != "" {
			roots[r.Parent] = true
		}
	}
	byID := map[string]cacheRecord{}
	for _, r := range records {
		byID[r.ID] = r
	}
	// ancestors lists id's chain, id first (bounded: a listing may hold a
	// record whose parent is gone, never a cycle, but be safe).
	ancestors := func(id string) []string {
		var chain []string
		for ; id != "" && len(chain) < 1000; id = byID[id].Parent {
			chain = append(chain, id)
		}
		return chain
	}
	var own []cacheRecord
	for _, r := range records {
		for i, id := range ancestors(r.ID) {
			if roots[id] && (i > 0 || withRoots) || strings.Contains(byID[id].Description, p.tok) {
				own = append(own, r)
				break
			}
		}
	}
	slices.SortFunc(own, func(a, b cacheRecord) int { return len(ancestors(b.ID)) - len(ancestors(a.ID)) })
	return own
}

// engineState lists the images and build cache records that name this
// test's token or descend from its base: what a failure needs to tell
// where a cache hit came from.
func (p *icProject) engineState() string {
	var b strings.Builder
	ctx := context.Background()
	if res, err := p.cli.ImageList(ctx, client.ImageListOptions{All: true}); err == nil {
		for _, img := range res.Items {
			if strings.Contains(fmt.Sprint(img.RepoTags, img.Labels), p.tok) {
				fmt.Fprintf(&b, "image %s %v %v\n", img.ID, img.RepoTags, img.Labels)
			}
		}
	}
	records, err := p.buildCacheRecords(ctx)
	if err != nil {
		fmt.Fprintln(&b, err)
	}
	for _, r := range p.ownRecords(records, true) {
		fmt.Fprintf(&b, "record %s parent %s created %s: %s\n", r.ID, r.Parent, r.CreatedAt, r.Description)
	}
	return b.String()
}

// cacheRecord is a build cache record as API 1.41 reports it (the client
// library's type reads a newer shape, without Parent).
type cacheRecord struct {
	ID, Parent, Description string
	CreatedAt               string // an imported layer's is its image history's
}

func (p *icProject) buildCacheRecords(ctx context.Context) ([]cacheRecord, error) {
	hc := &http.Client{Transport: engineTransport(p.t, p.cli)}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://docker/v1.41/system/df", nil)
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing the build cache: %w", err)
	}
	defer res.Body.Close()
	var df struct{ BuildCache []cacheRecord }
	if err := json.NewDecoder(res.Body).Decode(&df); err != nil {
		return nil, fmt.Errorf("listing the build cache: %w", err)
	}
	return df.BuildCache, nil
}

// depNonce is the nonce the deps stage wrote, as the test target printed
// it: the same nonce means that stage was a cache hit.
func (p *icProject) depNonce(out string) string {
	m := regexp.MustCompile(`deps-`+p.tok+`-([0-9a-f]{16})`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		p.t.Fatalf("no deps line in the output:\n%s", out)
	}
	return m[len(m)-1][1]
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
	nonce := p.depNonce(rep.out.String())
	kinds := map[string]int{}
	for _, e := range p.entries() {
		kinds[e.Kind]++
		if e.Kind == imagecache.KindService && !slices.Equal(e.Refs, []string{svcImage}) {
			t.Errorf("saved service image %v; want only %s, which the engine lacked", e.Refs, svcImage)
		}
		if slices.Contains(e.Refs, p.base) {
			t.Errorf("saved %s (%s), which the engine had", p.base, e.Kind)
		}
	}
	// Not the base image, FROM image and service image, which the engine
	// had: the machine provides it.
	if kinds[imagecache.KindBuild] != 1 || kinds[imagecache.KindStage] != 1 || kinds[imagecache.KindService] != 1 || kinds[imagecache.KindBase] != 0 {
		t.Fatalf("saved %v, want the image, its deps stage and the pulled service image", kinds)
	}
	p.restoresPulledService(svcImage, img)

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
	if got := p.depNonce(rep.out.String()); got != nonce {
		t.Errorf("the deps stage ran again (nonce %s, was %s): it was no cache hit\n%s", got, nonce, rep.out.String())
	}
	// With BuildKit, which said every step of the stage was cached, its
	// image (loaded from the cache) is kept rather than built again.
	buildkit := regexp.MustCompile(`(?m)^#\d+ CACHED$`).MatchString(rep.out.String())
	if skipped := strings.Contains(rep.out.String(), "stage deps unchanged"); skipped != buildkit {
		t.Errorf("stage rebuild skipped: %v, want %v (BuildKit: %v)\n%s", skipped, buildkit, buildkit, rep.out.String())
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
	before := p.engineState() // what a cache hit could come from
	rep = p.run()
	if rep.res[img].Status != engine.Ran || rep.res["test"].Status != engine.Ran {
		t.Fatalf("with a damaged cache: %v %v\n%s", rep.res[img].Status, rep.res["test"].Status, rep.out.String())
	}
	if len(p.warnings) != 1 || !strings.Contains(p.warnings[0], "damaged") {
		t.Errorf("warnings %q, want one about the damaged archive", p.warnings)
	}
	if got := p.depNonce(rep.out.String()); got == nonce {
		t.Errorf("the deps stage was a cache hit with the cache damaged: was anything loaded?\n%s\nwarnings %q\nbefore the run:\n%safter it:\n%s", rep.out.String(), p.warnings, before, p.engineState())
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

// A fresh engine prunes the layers BuildKit imported from a cache source
// onto a second record of busybox's layer, as a listing at load showed
// them: without that, the COPY --from=deps result outlived it and the
// deps step of the next build was a cache hit.
func TestOwnRecordsTakeImportedChains(t *testing.T) {
	p := &icProject{t: t, tok: "a844f88405", roots: map[string]bool{"otye91": true}}
	records := []cacheRecord{
		{ID: "7l6vat", Description: "/bin/sh -c #(nop) COPY dir:2112a92c in /"},
		{ID: "oq193w", Description: "/bin/sh -c #(nop) COPY dir:2112a92c in /"},
		{ID: "otye91", Parent: "7l6vat", Description: "from local "},
		{ID: "jx43l8", Parent: "otye91", Description: "fileop target"},
		{ID: "4mnmjs", Parent: "oq193w", Description: "/bin/sh -c echo a844f88405 > /base-tok"},
		{ID: "muifn7", Parent: "4mnmjs", Description: "COPY /dep /dep # buildkit"},
		{ID: "ltm79g", Parent: "oq193w", Description: "COPY /deps /deps # buildkit"}, // another test's
	}
	var got []string
	for _, r := range p.ownRecords(records, false) {
		got = append(got, r.ID)
	}
	sorted := slices.Sorted(slices.Values(got))
	if want := []string{"4mnmjs", "jx43l8", "muifn7"}; !slices.Equal(sorted, want) {
		t.Errorf("own records %v, want %v (not the base record, busybox's or another test's)", got, want)
	}
	if slices.Index(got, "muifn7") > slices.Index(got, "4mnmjs") {
		t.Errorf("own records %v: a parent before its child", got)
	}
}
