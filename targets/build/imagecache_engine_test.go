package build

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/dtask-dev/dtask/targets/targettest"
)

// cacheProject is a one-stage build tagged tag, a run target using it and
// a state folder kept across "fresh engines"; each run is a new process.
type cacheProject struct {
	t     *testing.T
	file  *taskfile.File
	state string
	tag   string
	cli   *docker.Client
	ids   map[string]bool // image IDs this test made
}

func newCacheProject(t *testing.T) *cacheProject {
	e := testEnv(t)
	dockertest.Images(t, "busybox:latest")
	cli, err := e.Docker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := targettest.RandHex(5)
	p := &cacheProject{t: t, file: e.File, state: filepath.Join(e.File.Dir, ".dtask"), cli: cli,
		tag: "dtask-test/cp-" + tok + ":test", ids: map[string]bool{}}
	p.write("Dockerfile", "FROM busybox:latest\nCOPY src.txt /src.txt\n")
	e.File.Targets["image"] = &taskfile.Target{Name: "image", Build: &taskfile.Build{Context: ".", Tags: []string{p.tag}, Builder: "classic"}}
	e.File.Targets["test"] = &taskfile.Target{Name: "test", Deps: []string{"image"},
		Run: &taskfile.Run{Image: p.tag, Cmd: []string{"cat", "/src.txt"}}}
	t.Cleanup(p.removeImages)
	return p
}

func (p *cacheProject) write(name, body string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.file.Dir, name), []byte(body), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// run runs goals as a new dtask process would; policy is LoadCachedBuilds.
func (p *cacheProject) run(policy func(string) bool, goals ...string) (*icReporter, error) {
	p.t.Helper()
	store, err := cache.OpenStore(p.state)
	if err != nil {
		p.t.Fatal(err)
	}
	e := &targets.Env{File: p.file, Project: "cp" + targettest.RandHex(4), RunID: "run" + targettest.RandHex(6), StateDir: p.state,
		Secret: func(string) (string, error) { return "", nil }, Mask: func(string) {}, LoadCachedBuilds: policy, Kinds: testKinds()}
	e.UseImageCache(imagecache.Open(filepath.Join(p.state, "images"), 0, store))
	defer e.UseImageCache(nil)
	rep := &icReporter{res: map[string]*engine.Result{}}
	r := &engine.Runner{File: p.file, Store: store, Index: cache.OpenIndex(store.IndexPath()),
		Actions: e.Action, Reporter: rep, HostEnv: os.Environ(), Opts: engine.Options{Jobs: 2}}
	_, err = r.Run(context.Background(), goals)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.Cleanup(ctx)
	for _, res := range rep.res {
		if id := res.Outputs["image"]; strings.HasPrefix(id, "sha256:") {
			p.ids[id] = true
		}
	}
	return rep, err
}

func (p *cacheProject) mustRun(policy func(string) bool, goals ...string) *icReporter {
	p.t.Helper()
	rep, err := p.run(policy, goals...)
	if err != nil {
		for _, res := range rep.res {
			if res.Err != nil {
				p.t.Logf("%s: %v", res.Target, res.Err)
			}
		}
		p.t.Fatalf("run %v: %v\n%s", goals, err, rep.out.String())
	}
	return rep
}

// removeImages removes the tag and every image the test built: a fresh
// engine for them (their archives stay in the state folder).
func (p *cacheProject) removeImages() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = p.cli.ImageRemove(ctx, p.tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	for id := range p.ids {
		_, _ = p.cli.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
}

func (p *cacheProject) tagID() string {
	id, _ := p.cli.ImageID(context.Background(), p.tag)
	return id
}

// After a fresh engine the image cache holds two images tagged alike; the
// run target must use the one its cached build recorded, not the newest.
func TestCachedBuildRunsTheRecordedImage(t *testing.T) {
	p := newCacheProject(t)
	p.write("src.txt", "v11\n")
	a := p.mustRun(nil, "test").res["image"].Outputs["image"]
	p.write("src.txt", "v12\n")
	b := p.mustRun(nil, "test").res["image"].Outputs["image"]
	if a == "" || b == "" || a == b {
		t.Fatalf("images %q and %q", a, b)
	}
	p.removeImages()

	// Back to v11: its build is cached (archive in the image cache); a
	// changed cmd makes the test run.
	p.write("src.txt", "v11\n")
	p.file.Targets["test"].Run.Cmd = []string{"sh", "-c", "cat /src.txt; echo second"}
	rep := p.mustRun(nil, "test")
	if rep.res["image"].Status != engine.Cached || rep.res["test"].Status != engine.Ran {
		t.Fatalf("image %v, test %v; want cached, ran\n%s", rep.res["image"].Status, rep.res["test"].Status, rep.out.String())
	}
	if out := rep.out.String(); !strings.Contains(out, "v11") || strings.Contains(out, "v12") {
		t.Fatalf("the test ran the wrong image:\n%s", out)
	}
	if got := p.tagID(); got != a {
		t.Errorf("%s names %s, want the recorded %s", p.tag, got, a)
	}

	// The tag names the other image in the engine now: it is moved back.
	p.removeImages()
	ic := imagecache.Open(filepath.Join(p.state, "images"), 0, nil)
	if ok, err := ic.Load(context.Background(), p.cli, b, imagecache.LoadOptions{Ref: p.tag}); !ok || err != nil {
		t.Fatalf("loading %s: %v %v", b, ok, err)
	}
	p.file.Targets["test"].Run.Cmd = []string{"sh", "-c", "cat /src.txt; echo third"}
	rep = p.mustRun(nil, "test")
	if out := rep.out.String(); rep.res["test"].Status != engine.Ran || !strings.Contains(out, "v11") || strings.Contains(out, "v12") {
		t.Fatalf("with the tag on the other image: test %v\n%s", rep.res["test"].Status, out)
	}
	if got := p.tagID(); got != a {
		t.Errorf("%s names %s, want the recorded %s", p.tag, got, a)
	}
}

// A cached build whose image is in the image cache only is loaded, with
// its tags, when LoadCachedBuilds asks: an sh target uses it by name.
func TestLoadCachedBuildsForHostCommands(t *testing.T) {
	p := newCacheProject(t)
	p.write("src.txt", "from-sh\n")
	p.file.Targets["smoke"] = &taskfile.Target{Name: "smoke", Deps: []string{"image"},
		Sh: taskfile.StringList{"docker run --rm " + p.tag + " cat /src.txt"}}
	id := p.mustRun(nil, "smoke").res["image"].Outputs["image"]
	p.removeImages()

	// Lazy (no policy): the build is cached and nothing loads it.
	if rep, err := p.run(nil, "image"); err != nil || rep.res["image"].Status != engine.Cached || p.tagID() != "" {
		t.Fatalf("lazy: %v %v, tag %q", err, rep.res["image"].Status, p.tagID())
	}
	policy := func(target string) bool { return target == "image" }
	rep := p.mustRun(policy, "smoke")
	if rep.res["image"].Status != engine.Cached || !strings.Contains(rep.out.String(), "from-sh") {
		t.Fatalf("image %v\n%s", rep.res["image"].Status, rep.out.String())
	}
	if got := p.tagID(); got != id {
		t.Errorf("%s names %q, want %s", p.tag, got, id)
	}
}

// engineTransport talks HTTP to the engine cli is connected to, for what
// the client library does not expose as the engine sends it.
func engineTransport(t *testing.T, cli *docker.Client) *http.Transport {
	t.Helper()
	u, err := url.Parse(cli.Host)
	if err != nil || u.Scheme != "unix" && u.Scheme != "tcp" {
		t.Fatalf("engine host %q: want unix:// or tcp://", cli.Host)
	}
	network, addr := u.Scheme, u.Host
	if network == "unix" {
		addr = u.Path
	}
	return &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
}

// failingEngine is a proxy to the real engine that fails every image load
// as a full disk would.
func failingEngine(t *testing.T, cli *docker.Client) *docker.Client {
	t.Helper()
	return proxiedEngine(t, cli, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/images/load") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"message":"write /var/lib/docker/tmp/docker-import: no space left on device"}`))
		return true
	})
}

// proxiedEngine is a client of a proxy to the real engine that shows each
// request to answer first, which returns true when it has answered it.
func proxiedEngine(t *testing.T, cli *docker.Client, answer func(w http.ResponseWriter, r *http.Request) bool) *docker.Client {
	t.Helper()
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
		Transport: engineTransport(t, cli),
	}
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answer(w, r) {
			proxy.ServeHTTP(w, r)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c, err := docker.ConnectHost(context.Background(), "unix://"+sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// buildUnique builds a small image no other test shares, removed at the end.
func buildUnique(t *testing.T, cli *docker.Client, size int) (tag, id string) {
	t.Helper()
	tag = "dtask-test/icload-" + targettest.RandHex(5) + ":1"
	cmd := exec.Command("docker", "build", "-q", "-t", tag, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader("FROM busybox:latest\nRUN head -c " + strconv.Itoa(size) + " /dev/urandom > /noise\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", tag, err, out)
	}
	id, _ = cli.ImageID(context.Background(), tag)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		_, _ = cli.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return tag, id
}

// An engine that fails a load (full disk, restart) is an error; the
// archive is whole and kept, and a later load succeeds.
func TestEngineLoadErrorKeepsTheArchive(t *testing.T) {
	e := testEnv(t)
	dockertest.Images(t, "busybox:latest")
	ctx := context.Background()
	cli, _ := e.Docker(ctx)
	tag, id := buildUnique(t, cli, 300<<10)
	var warnings []string
	ic := imagecache.Open(t.TempDir(), 0, nil)
	ic.Warn = func(msg string) { warnings = append(warnings, msg) }
	if _, err := ic.Save(ctx, cli, id, imagecache.Info{Refs: []string{tag}, Kind: imagecache.KindBuild}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}
	ok, err := ic.Load(ctx, failingEngine(t, cli), id, imagecache.LoadOptions{Ref: tag, SkipShared: true, Have: []string{"busybox:latest"}})
	if ok || err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("load through a failing engine: %v %v", ok, err)
	}
	if !ic.Has(id) || len(warnings) > 0 {
		t.Fatalf("the archive was dropped after an engine error (warnings %q)", warnings)
	}
	if ok, err := ic.Load(ctx, cli, id, imagecache.LoadOptions{Ref: tag}); !ok || err != nil {
		t.Fatalf("load after the engine recovered: %v %v", ok, err)
	}
	if got, _ := cli.ImageID(ctx, tag); got != id {
		t.Errorf("%s names %q after the load, want %s", tag, got, id)
	}
}

// An image larger than the whole budget is not saved (and so not pruned
// straight away); with -v that is said once.
func TestImageOverBudgetIsNotSaved(t *testing.T) {
	e := testEnv(t)
	dockertest.Images(t, "busybox:latest")
	ctx := context.Background()
	cli, _ := e.Docker(ctx)
	id, _ := cli.ImageID(ctx, "busybox:latest")
	dir := t.TempDir()
	e.Verbose = true
	e.UseImageCache(imagecache.Open(dir, 1000, nil))
	t.Cleanup(func() { e.UseImageCache(nil) })
	var said []string
	for range 2 {
		e.CacheImage(ctx, cli, id, imagecache.Info{Refs: []string{"busybox:latest"}, Kind: imagecache.KindBase}, nil,
			func(msg string) { said = append(said, msg) })
	}
	if len(said) != 1 || !strings.HasPrefix(said[0], "note: ") || !strings.Contains(said[0], "budget") {
		t.Errorf("said %q, want one note about the budget", said)
	}
	for _, sub := range []string{"entries", "blobs"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/ was written: %v", sub, err)
		}
	}
}
