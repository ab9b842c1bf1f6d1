package build

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

func TestCacheStages(t *testing.T) {
	src := []byte(`FROM busybox AS tools
RUN echo tools
FROM busybox AS deps
RUN --mount=type=bind,from=tools,target=/t echo deps
FROM busybox AS unused
RUN echo nobody copies me
FROM deps AS build
COPY --from=1 /x /x
FROM busybox AS test
COPY --from=build /x /x
FROM busybox
COPY --from=build /x /x
`)
	cases := map[string][]string{
		"":      {"tools", "deps", "build"}, // the final image, through FROM, COPY --from and RUN --mount
		"build": {"tools", "deps"},          // target stops at build
		"tools": nil,
	}
	for target, want := range cases {
		got, err := cacheStages(src, target)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("target %q: stages %v, want %v", target, got, want)
		}
	}
}

func TestCacheRefNames(t *testing.T) {
	for in, want := range map[string]string{"My App": "my-app", "web_1": "web-1", "..": "x", "API": "api"} {
		if got := targets.RepoPart(in); got != want {
			t.Errorf("targets.RepoPart(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two checkouts in folders of the same name (CI's usual "project") keep
// their stage images apart: the project id is part of the name.
func TestCacheRepoSetsProjectsApart(t *testing.T) {
	repo := func(dir, project string) string {
		e := &targets.Env{File: &taskfile.File{Dir: dir}, Project: project}
		return (&buildAction{e: e, t: &taskfile.Target{Name: "image"}}).cacheRepo()
	}
	a, b := repo("/ci/a/project", "0a1b2c3d4e5f"), repo("/ci/b/project", "f5e4d3c2b1a0")
	if a == b {
		t.Fatalf("both checkouts use %s", a)
	}
	if !strings.HasPrefix(a, "dtask-cache/project-0a1b2c3d4e5f/") {
		t.Errorf("cache repo %s", a)
	}
}

func TestStageStepsAllCached(t *testing.T) {
	var s stageSteps
	out := "#1 [internal] load remote build context\n#1 DONE 0.0s\n" +
		"#3 [deps 1/3] FROM docker.io/library/busybox:latest\n#3 DONE 0.0s\n" +
		"#4 [deps 2/3] RUN sleep 8\n#4 CACHED\n" +
		"#5 [deps 3/3] RUN echo x\n#5 CACHED\n" +
		"#6 [linux/amd64 tools 2/2] RUN make\n#6 CACHED\n" +
		"#7 [build 2/2] COPY . .\n#7 DONE 0.3s\n" +
		"#8 [test 2/3] RUN a\n#8 CACHED\n#9 [test 3/3] RUN b\n#9 DONE 1.0s\n"
	s.Write([]byte(out[:50])) // split writes
	s.Write([]byte(out[50:]))
	for stage, want := range map[string]bool{"deps": true, "DEPS": true, "tools": true, "build": false, "test": false, "other": false} {
		if got := s.allCached(stage); got != want {
			t.Errorf("allCached(%s) = %v, want %v", stage, got, want)
		}
	}
	if (*stageSteps)(nil).allCached("deps") {
		t.Error("nil: cached")
	}
}

// TestStageSaveSkipsAStageThatChangesEveryBuild: a stage that starts
// with a COPY of the whole context is saved the first time; while it
// changes build after build its entry is kept (noted as behind), and the
// first build that takes it whole from the cache saves it again. A stage
// that changes now and then (dependencies) is saved after each change.
func TestStageSaveSkipsAStageThatChangesEveryBuild(t *testing.T) {
	store := ocicache.Open(t.TempDir(), nil)
	bl := &buildLayers{a: &buildAction{e: &targets.Env{Layers: store}}}
	const tag = "img.stage-build"
	ran := "#4 [build 2/3] COPY . /src\n#4 DONE 0.1s\n#5 [build 3/3] RUN go build\n#5 DONE 1.0s\n"
	cached := "#4 [build 2/3] COPY . /src\n#4 CACHED\n#5 [build 3/3] RUN go build\n#5 CACHED\n"
	saved := 0
	build := func(out string) (bool, map[string]string) {
		steps := &stageSteps{}
		steps.Write([]byte(out))
		save, note := bl.stageSave(tag, "build", steps)
		if save { // what the background save does: a fresh entry, then the notes
			saved++
			cfg, err := store.PutBytes([]byte(fmt.Sprintf(`{"save":%d}`, saved)))
			if err != nil {
				t.Fatal(err)
			}
			d, err := store.PutBytes([]byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"digest":%q,"size":%d},"layers":[]}`, cfg.Digest, cfg.Size)))
			if err != nil {
				t.Fatal(err)
			}
			d.MediaType = types.OCIManifestSchema1
			if err := store.Tag(context.Background(), tag, d); err != nil {
				t.Fatal(err)
			}
		}
		if note != nil {
			bl.annotate(context.Background(), map[string]map[string]string{tag: note})
		}
		return save, note
	}
	for i, c := range []struct {
		out    string
		save   bool
		behind bool
	}{
		{ran, true, false},     // nothing saved yet
		{ran, false, true},     // changed again: kept, behind
		{ran, false, true},     // and again
		{cached, true, false},  // unchanged now: saved as it is
		{ran, false, true},     // it changed in the builds before: kept
		{cached, true, false},  // saved as it is
		{cached, false, false}, // what is saved serves
		{ran, true, false},     // changed after a quiet build: saved
		{cached, false, false},
		{ran, true, false}, // and so after each quiet build
	} {
		save, _ := build(c.out)
		d, _ := store.Resolve(tag)
		if save != c.save || (d.Annotations[annotationBehind] != "") != c.behind {
			t.Errorf("build %d: save %v, behind %q; want %v, %v", i+1, save, d.Annotations[annotationBehind], c.save, c.behind)
		}
	}
}

// A stage's build sees the global args, those its own chain of stages
// declares and any no stage declares (BuildKit's own); the others are
// what two builds of it may differ in and still make one image.
func TestUnseenArgs(t *testing.T) {
	src := []byte(`ARG BASE=busybox
FROM ${BASE} AS tools
ARG TOOLS
FROM tools AS build
ARG FLAVOUR
COPY --from=tools /x /x
FROM busybox AS other
ARG OTHER BASE
FROM busybox
ARG APP_VERSION
COPY --from=build /x /x
`)
	cases := map[string][]string{
		"tools": {"APP_VERSION", "FLAVOUR", "OTHER"},
		"build": {"APP_VERSION", "OTHER"},
		"other": {"APP_VERSION", "FLAVOUR", "TOOLS"},
	}
	for stage, want := range cases {
		got, err := unseenArgs(src, stage)
		if err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, want) {
			t.Errorf("stage %s: unseen %v, want %v", stage, keys, want)
		}
	}
	if _, err := unseenArgs(src, "nosuch"); err == nil {
		t.Error("unseenArgs of a stage the Dockerfile lacks: no error")
	}
}

// A stage that is only a FROM is not built and saved on its own: its
// image is its base's.
func TestWithStepsDropsBareStages(t *testing.T) {
	src := []byte(`FROM busybox AS tools
FROM busybox AS deps
RUN echo deps
FROM deps AS alias
FROM busybox
COPY --from=tools /bin/busybox /b
COPY --from=alias /x /x
`)
	stages, err := cacheStages(src, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := withSteps(src, stages), []string{"deps"}; !slices.Equal(got, want) {
		t.Errorf("withSteps(%v) = %v, want %v", stages, got, want)
	}
}
