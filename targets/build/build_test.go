package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testfs"
)

func TestBuildSimpleBothBuilders(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	e.Revision, e.Source = "0123456789abcdef", "https://example.com/shop"
	testfs.Files(t, e.File.Dir, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY hello.txt /hello.txt\nRUN echo built-line && cat /hello.txt\n",
		"hello.txt":  "hello from the context " + btRand() + "\n",
	})
	for _, builder := range []string{"buildkit", "classic"} {
		t.Run(builder, func(t *testing.T) {
			tag1, tag2 := btTag(t, cli, "simple-"+builder), btTag(t, cli, "simple2-"+builder)
			tg := &taskfile.Target{Name: "image", Build: &taskfile.Build{Context: ".", Tags: []string{tag1, tag2}, Builder: builder,
				Labels: map[string]string{"com.example.team": "shop"}}}
			outs, text, steps, err := btBuild(t, e, tg)
			if err != nil {
				t.Fatalf("build: %v\n%s", err, text)
			}
			if !strings.HasPrefix(outs["image"], "sha256:") || outs["tags"] != tag1+","+tag2 {
				t.Fatalf("outputs %v", outs)
			}
			for _, tag := range []string{tag1, tag2} {
				if id := btInspect(t, cli, tag).ID; id != outs["image"] {
					t.Errorf("%s is %s, want %s", tag, id, outs["image"])
				}
			}
			wantStep := ": RUN echo built-line" // "Step 3/N", N counting the LABEL steps
			if builder == "buildkit" {
				wantStep = "[3/3] RUN echo built-line"
			}
			if !strings.Contains(text, wantStep) || !strings.Contains(text, "hello from the context") {
				t.Errorf("output lacks the step or its log:\n%s", text)
			}
			if !slices.ContainsFunc(steps, func(s string) bool { return strings.Contains(s, "RUN echo built-line") }) {
				t.Errorf("progress did not report the RUN step: %q", steps)
			}
			labels := btInspect(t, cli, outs["image"]).Config.Labels
			if labels["org.opencontainers.image.revision"] != "0123456789abcdef" ||
				labels["org.opencontainers.image.source"] != "https://example.com/shop" ||
				labels["com.example.team"] != "shop" {
				t.Errorf("labels %v", labels)
			}
			created, ok := labels["org.opencontainers.image.created"]
			if builder == "classic" && ok {
				t.Errorf("classic build has a created label (a step of its own): %q", created)
			}
			if ts, err := time.Parse(time.RFC3339, created); builder == "buildkit" && (err != nil || time.Since(ts) > time.Hour) {
				t.Errorf("created label %q: %v", created, err)
			}

			act := New(e, tg)
			rec := &engine.Record{Outputs: outs}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if ok, why, err := act.Check(ctx, rec); !ok || err != nil {
				t.Errorf("Check after build: %v %q %v", ok, why, err)
			}
			if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: "busybox:latest", Target: tag2}); err != nil {
				t.Fatal(err)
			}
			if ok, why, _ := act.Check(ctx, rec); ok || !strings.Contains(why, tag2) {
				t.Errorf("Check with a moved tag: %v %q", ok, why)
			}
			if _, err := cli.ImageRemove(ctx, tag2, client.ImageRemoveOptions{}); err != nil {
				t.Fatal(err)
			}
			// A removed tag is put back, not built again: only when the
			// image is needed now (a dry run changes nothing).
			if ok, why, _ := act.Check(ctx, rec); !ok {
				t.Errorf("Check with a removed tag: %v %q", ok, why)
			}
			if id, _ := cli.ImageID(ctx, tag2); id != "" {
				t.Errorf("Check put %s back though nothing needs the image", tag2)
			}
			e.LoadCachedBuilds = func(string) bool { return true }
			if ok, why, _ := act.Check(ctx, rec); !ok {
				t.Errorf("Check with a removed tag, image needed: %v %q", ok, why)
			}
			if id, _ := cli.ImageID(ctx, tag2); id != outs["image"] {
				t.Errorf("%s points at %q after Check, want %s", tag2, id, outs["image"])
			}
			e.LoadCachedBuilds = nil
			if ok, why, _ := act.Check(ctx, &engine.Record{Outputs: engine.Outputs{"image": "sha256:" + strings.Repeat("0", 64)}}); ok || !strings.Contains(why, "missing") {
				t.Errorf("Check of an unknown image: %v %q", ok, why)
			}
		})
	}
}

func TestBuildKitCacheMountWithoutSession(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	testfs.Files(t, e.File.Dir, map[string]string{
		"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/cache echo cached > /cache/f && cat /cache/f\n",
	})
	tag := btTag(t, cli, "cachemount")
	_, text, _, err := btBuild(t, e, &taskfile.Target{Build: &taskfile.Build{Tags: []string{tag}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	// The default builder is BuildKit here: the classic one rejects --mount.
	if !strings.Contains(text, "#") || !strings.Contains(text, "cached") {
		t.Errorf("output:\n%s", text)
	}
}

func TestBuildArgsAndTarget(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	testfs.Files(t, e.File.Dir, map[string]string{
		"docker/app.Dockerfile": "ARG BASE=busybox\nFROM ${BASE} AS first\nARG GREETING=default\nENV STAGE=first GOT=$GREETING\n" +
			"FROM first AS second\nENV STAGE=second\n",
	})
	for _, builder := range []string{"buildkit", "classic"} {
		t.Run(builder, func(t *testing.T) {
			tag := btTag(t, cli, "args-"+builder)
			tg := &taskfile.Target{Build: &taskfile.Build{Context: ".", Dockerfile: "docker/app.Dockerfile", Tags: []string{tag},
				Args: map[string]string{"GREETING": "hi there"}, Target: "first", Builder: builder}}
			outs, text, _, err := btBuild(t, e, tg)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			env := btInspect(t, cli, outs["image"]).Config.Env
			if !slices.Contains(env, "STAGE=first") || !slices.Contains(env, "GOT=hi there") {
				t.Errorf("env %v", env)
			}
		})
	}
}

func TestBuildFailingStepIsNamed(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	testfs.Files(t, e.File.Dir, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo first-line\nRUN echo about-to-fail && exit 3\n",
	})
	for _, builder := range []string{"buildkit", "classic"} {
		t.Run(builder, func(t *testing.T) {
			tag := btTag(t, cli, "fail-"+builder)
			_, text, _, err := btBuild(t, e, &taskfile.Target{Name: "broken", Build: &taskfile.Build{Tags: []string{tag}, Builder: builder}})
			if err == nil {
				t.Fatalf("build succeeded:\n%s", text)
			}
			msg := err.Error()
			code := "exit code: 3"
			if builder == "classic" {
				code = "returned a non-zero code: 3"
			}
			for _, want := range []string{"build failed at", "RUN echo about-to-fail", code, "| about-to-fail"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "first-line") || strings.Contains(msg, "--->") {
				t.Errorf("error repeats an earlier step's output:\n%s", msg)
			}
		})
	}
}

// TestBuildIgnoreParity builds the same tricky context with dtask and with
// `docker build` (classic builder) and compares the files in both images.
func TestBuildIgnoreParity(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("the docker CLI is needed for the parity test")
	}
	root := e.File.Dir
	testfs.Files(t, root, map[string]string{"build.Dockerfile": "FROM busybox\nCOPY . /ctx\n"})
	const tricky = "# comment\n*.log\n**/*.tmp\nbuild/**\n!build/keep.txt\nsecret/\n!secret/allowed.txt\n/anchored.txt\ndocs\n!docs/README.md\n*/cache\n"
	cases := []struct {
		name, dockerfile, ignore string
		hidden                   bool // the Dockerfile is outside or excluded
	}{
		{"inside", "", tricky, false},
		{"inside-hidden", "", tricky + "Dockerfile\n.dockerignore\n", true},
		{"outside", "build.Dockerfile", tricky, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctxDir := filepath.Join(root, c.name)
			testfs.Files(t, ctxDir, map[string]string{
				"Dockerfile":         "FROM busybox\nCOPY . /ctx\n",
				".dockerignore":      c.ignore,
				"a.txt":              "a",
				"a.log":              "x",
				"sub/b.log":          "kept",
				"x.tmp":              "x",
				"sub/deep/y.tmp":     "x",
				"build/out.bin":      "x",
				"build/keep.txt":     "kept",
				"build/sub/z":        "x",
				"secret/key":         "x",
				"secret/allowed.txt": "kept",
				"anchored.txt":       "x",
				"sub/anchored.txt":   "kept",
				"docs/README.md":     "kept",
				"docs/other.md":      "x",
				"sub/cache/c":        "x",
				"src/main.go":        "package main",
				"bin/run.sh":         "#!/bin/sh\n",
			})
			os.Chmod(filepath.Join(ctxDir, "bin/run.sh"), 0o755)
			os.Mkdir(filepath.Join(ctxDir, "emptydir"), 0o755)
			os.Symlink("a.txt", filepath.Join(ctxDir, "link"))

			cliTag := btTag(t, cli, "parity-cli")
			args := []string{"build", "-q", "-t", cliTag}
			if c.dockerfile != "" {
				args = append(args, "-f", filepath.Join(root, c.dockerfile))
			}
			cctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(cctx, "docker", append(args, ctxDir)...)
			cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("docker build: %v\n%s", err, out)
			}
			want := btListing(t, cliTag)
			for _, must := range []string{"./sub/b.log", "./build/keep.txt", "./secret/allowed.txt", "./docs/README.md", "./emptydir", "./link"} {
				if !strings.Contains(want, must+"\n") {
					t.Errorf("docker build lacks %s (fixture broken?):\n%s", must, want)
				}
			}
			// BuildKit reads the Dockerfile from its own folder and applies
			// .dockerignore itself, so a hidden or outside Dockerfile stays out
			// of COPY as with the classic builder. The one difference is the
			// CLI's: for an outside Dockerfile the classic docker build adds
			// its generated name to the .dockerignore it sends; BuildKit (like
			// buildx) sends the file as it is.
			for _, builder := range []string{"classic", "", "buildkit"} {
				tag := btTag(t, cli, "parity")
				tg := &taskfile.Target{Build: &taskfile.Build{Context: c.name, Dockerfile: c.dockerfile, Tags: []string{tag}, Builder: builder}}
				_, text, _, err := btBuild(t, e, tg)
				if err != nil {
					t.Fatalf("%v\n%s", err, text)
				}
				got, wantHere := btListing(t, tag), want
				if builder != "classic" && c.dockerfile != "" {
					got, wantHere = btWithoutIgnore(got), btWithoutIgnore(want)
				}
				if got != wantHere {
					t.Errorf("builder %q: files differ from docker build's\n--- dtask\n%s--- docker build\n%s", builder, got, wantHere)
				}
				if builder == "" && strings.Contains(text, "using the classic builder") {
					t.Errorf("auto builder chose the classic builder for a hidden=%v Dockerfile:\n%s", c.hidden, text)
				}
			}
		})
	}
}

// btWithoutIgnore drops the .dockerignore line from a listing.
func btWithoutIgnore(listing string) string {
	var out []string
	for _, l := range strings.SplitAfter(listing, "\n") {
		if !strings.HasSuffix(l, " ./.dockerignore\n") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestBuildKey(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	testfs.Files(t, e.File.Dir, map[string]string{
		"Dockerfile":     "ARG BASE=busybox\nFROM $BASE AS base\nFROM base\nCOPY . /app\n",
		".dockerignore":  "*.log\nnode_modules\n",
		"main.go":        "package main\n",
		"debug.log":      "x",
		"node_modules/m": "x",
	})
	tg := &taskfile.Target{Name: "image", Build: &taskfile.Build{Tags: []string{"dtask-test/key:latest"}, Secrets: []string{"TOKEN"}}}
	k0, lines := btPlan(t, e, tg)
	busybox := btInspect(t, cli, "busybox:latest").ID
	if !slices.Contains(lines, "image.from busybox="+busybox) {
		t.Errorf("FROM image not keyed: %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "debug.log") || strings.Contains(l, "node_modules") {
			t.Errorf("ignored file keyed: %s", l)
		}
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "def.build=") && strings.Contains(l, `"TOKEN"`) }) {
		t.Errorf("definition (with secret names) not keyed: %q", lines)
	}

	testfs.Files(t, e.File.Dir, map[string]string{"debug.log": "changed", "node_modules/m": "changed"})
	if k, _ := btPlan(t, e, tg); k != k0 {
		t.Error("an ignored file changed the key")
	}
	testfs.Files(t, e.File.Dir, map[string]string{"main.go": "package main // changed\n"})
	k1, _ := btPlan(t, e, tg)
	if k1 == k0 {
		t.Error("a context file did not change the key")
	}
	os.Mkdir(filepath.Join(e.File.Dir, "newdir"), 0o755)
	k2, _ := btPlan(t, e, tg)
	if k2 == k1 {
		t.Error("a new folder (sent to the builder) did not change the key")
	}
	tg.Build.Args = map[string]string{"X": "1"}
	k3, _ := btPlan(t, e, tg)
	if k3 == k2 {
		t.Error("build args did not change the key")
	}
	tg.Build.Args = map[string]string{"BASE": "dtask-none/absent:1"}
	_, lines = btPlan(t, e, tg)
	if !slices.Contains(lines, "image.from dtask-none/absent:1=missing") {
		t.Errorf("a missing FROM image is not keyed as missing: %q", lines)
	}
}

func TestBuildSecrets(t *testing.T) {
	e, cli := btEnv(t)
	btNeedBusybox(t, cli)
	const value = "s3cret-value-42"
	e.Secret = func(name string) (string, error) {
		if name != "TOKEN" {
			t.Errorf("asked for secret %q", name)
		}
		return value, nil
	}
	var masked []string
	e.Mask = func(v string) { masked = append(masked, v) }
	testfs.Files(t, e.File.Dir, map[string]string{
		"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=TOKEN test \"$(cat /run/secrets/TOKEN)\" = " + value + " && echo secret-ok\nRUN test ! -e /run/secrets/TOKEN\n",
	})
	tag := btTag(t, cli, "secrets")
	outs, text, _, err := btBuild(t, e, &taskfile.Target{Build: &taskfile.Build{Tags: []string{tag}, Secrets: []string{"TOKEN"}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "secret-ok") || !slices.Contains(masked, value) {
		t.Errorf("secret not used or not masked: %q\n%s", masked, text)
	}
	img := btInspect(t, cli, outs["image"])
	if strings.Contains(btJSON(img.Config), value) {
		t.Error("secret value found in the image config")
	}

	_, _, _, err = btBuild(t, e, &taskfile.Target{Build: &taskfile.Build{Tags: []string{tag}, Secrets: []string{"TOKEN"}, Builder: "classic"}})
	if err == nil || !strings.Contains(err.Error(), "build secrets need BuildKit") {
		t.Errorf("classic builder with secrets: %v", err)
	}
}
