package build

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/ocicache"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// Two build targets of one Dockerfile whose images both copy from its
// build stage (as hits' test and app images do): a cold run with a layer
// store builds that stage with cache metadata once, not once per target,
// and both targets' entries name the one image saved. A build arg that
// only the app's own stage declares does not keep them apart; one the
// build stage declares does: that stage is then built twice.
func TestSharedStageBuiltOncePerRun(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  map[string]string // of the second target
		want  int               // cache builds of the build stage
		alike bool              // both entries hold one image
	}{
		{"only the final stage's arg differs", map[string]string{"APP_VERSION": "v2"}, 1, true},
		{"the stage's own arg differs", map[string]string{"APP_VERSION": "v2", "FLAVOUR": "b"}, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newSharedProject(t)
			p.file.Targets["b"].Build.Args = c.args
			p.run()
			if got := p.stageBuilds(); got != c.want {
				t.Errorf("%d builds of stage build with target=build; want %d", got, c.want)
			}
			store := ocicache.Open(p.layout, nil)
			a, aok := store.Resolve("a.stage-build")
			b, bok := store.Resolve("b.stage-build")
			if !aok || !bok {
				t.Fatalf("entries a.stage-build %v, b.stage-build %v; want both", aok, bok)
			}
			ida, idb := a.Annotations[ocicache.AnnotationImageID], b.Annotations[ocicache.AnnotationImageID]
			if (ida == idb) != c.alike {
				t.Errorf("a.stage-build holds %s, b.stage-build %s; want alike %v", ida, idb, c.alike)
			}
		})
	}
}

// sharedProject is a Dockerfile with a build stage two targets copy from,
// run (goal test) through a proxy that counts the engine's build requests
// by stage.
type sharedProject struct {
	*icProject
	mu      sync.Mutex
	builds  []string       // the target= of each build request
	counted *docker.Client // the proxy to the engine
}

func newSharedProject(t *testing.T) *sharedProject {
	e := testEnv(t)
	dockertest.Images(t, "busybox:latest")
	cli, err := e.Docker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &sharedProject{icProject: &icProject{t: t, file: e.File, state: filepath.Join(e.File.Dir, ".dtask"),
		layout: filepath.Join(t.TempDir(), "layout"), tok: targettest.RandHex(6), cli: cli, created: map[string]bool{}}}
	p.dial = func(context.Context, string) (*docker.Client, error) { return p.counted, nil }
	src := "app-" + p.tok + ".txt"
	os.WriteFile(filepath.Join(p.file.Dir, src), []byte("one\n"), 0o644)
	os.WriteFile(filepath.Join(p.file.Dir, "Dockerfile"), []byte(
		"FROM busybox:latest AS build\n"+
			"ARG FLAVOUR=a\n"+
			"COPY "+src+" /src.txt\n"+
			"RUN echo shared-"+p.tok+"-$FLAVOUR > /out && cat /src.txt >> /out\n"+
			"FROM busybox:latest AS test\n"+
			"COPY --from=build /out /out\n"+
			"FROM busybox:latest\n"+
			"ARG APP_VERSION=dev\n"+
			"COPY --from=build /out /out\n"+
			"RUN echo $APP_VERSION > /version\n"), 0o644)
	for _, name := range []string{"a", "b"} {
		tag := "dtask-test/shared-" + p.tok + ":" + name
		p.created[tag] = true
		p.file.Targets[name] = &taskfile.Target{Name: name, Build: &taskfile.Build{Context: ".", Tags: []string{tag}}}
	}
	p.file.Targets["a"].Build.Target = "test"
	p.file.Targets["test"] = &taskfile.Target{Name: "test", Deps: []string{"a", "b"}}
	p.counted = proxiedEngine(t, cli, func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/build") {
			p.mu.Lock()
			p.builds = append(p.builds, r.URL.Query().Get("target"))
			p.mu.Unlock()
		}
		return false
	})
	t.Cleanup(p.remove)
	return p
}

func (p *sharedProject) stageBuilds() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(p.builds), func(s string) bool { return s != "build" }))
}

// remove removes the images and the builder's cache records this test
// made (their steps name its token).
func (p *sharedProject) remove() {
	p.removeAll()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for pass := 0; pass < 3; pass++ { // a record goes once no child needs it
		records, err := p.buildCacheRecords(ctx)
		if err != nil {
			p.t.Log(err)
			return
		}
		for _, r := range records {
			if strings.Contains(r.Description, p.tok) {
				f := client.Filters{}.Add("id", r.ID)
				_, _ = p.cli.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: true, Filters: f})
			}
		}
	}
}
