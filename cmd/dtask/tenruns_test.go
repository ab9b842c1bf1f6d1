package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/internal/dockertest"
)

// The pipeline of issue 15 in small: a multi-stage image build, tests in a
// container of it against a shared service with a cache volume and a JUnit
// report, and a push.
const tenRunsTaskfile = `version = 1
[services.kv]
image = "redis:7"
ready = { tcp = 6379 }

[targets.image]
build = { context = ".", tags = ["%[1]s:latest"]%[2]s }

[targets.test]
deps     = ["image"]
services = ["kv"]
run = { image = "%[1]s:latest", caches = ["/cache"], reports = ["/out/junit.xml"], cmd = ["sh", "-c",
        "cat /deps; redis-cli -h kv ping >/dev/null 2>&1; date > /cache/last; mkdir -p /out; echo \"<testsuite name=\\\"t\\\"><testcase name=\\\"T$(cat /src/a.txt)\\\"/></testsuite>\" > /out/junit.xml"] }

[targets.publish]
deps = ["test"]
push = { image = "%[1]s:latest", tags = ["%[1]s:ci"] }
`

const tenRunsDockerfile = `FROM busybox:latest AS deps
RUN echo deps-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n') > /deps
FROM busybox:latest
COPY --from=deps /deps /deps
COPY src /src
`

// TestTenRunsLeaveLittleState: after ten runs of the pipeline, each after
// a change, the work tree holds under 10 MB of dtask state (the bulk is in
// the user cache folder) and the engine holds no image dtask tagged for
// its own bookkeeping (dtask-cache/…), with BuildKit (as dtask builds
// wherever the engine has it) and with the classic builder, which keeps
// its stage images untagged. Every run reuses the dependency stage (its
// random line stays the same), and the classic builder's superseded stage
// images are removed.
func TestTenRunsLeaveLittleState(t *testing.T) {
	needDocker(t)
	if up, err := registryUp(); err != nil || !up {
		dockertest.Need(t, fmt.Sprintf("the local registry on 127.0.0.1:5000 does not answer (%v)", err), "scripts/fixtures/registry.sh start")
	}
	for _, builder := range []string{"buildkit", "classic"} {
		t.Run(builder, func(t *testing.T) { testTenRuns(t, builder) })
	}
}

func testTenRuns(t *testing.T, builder string) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	taskfile := filepath.Join(dir, "Taskfile.toml")
	repo := "127.0.0.1:5000/dtask-pipelines-tenruns-" + projectID(taskfile)
	key := ""
	if builder == "classic" {
		key = `, builder = "classic"`
	}
	writeFile(t, taskfile, fmt.Sprintf(tenRunsTaskfile, repo, key))
	writeFile(t, filepath.Join(dir, "Dockerfile"), tenRunsDockerfile)
	t.Cleanup(func() {
		_, _ = runDtask(t, dir, "--cache", "clear")
		// By ID: each run moved the tag, leaving the image before untagged.
		ids, _ := exec.Command("docker", "images", "-q", repo).Output()
		rm := append(strings.Fields(string(ids)), bookkeepingTags(t, taskfile)...)
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, append(rm, stageImages(t, taskfile)...)...)...).Run()
		for _, v := range projectVolumes(t, taskfile) {
			_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
		}
	})
	deps := map[string]bool{}
	for i := 1; i <= 10; i++ {
		writeFile(t, filepath.Join(dir, "src", "a.txt"), fmt.Sprint(i))
		out, err := runDtask(t, dir, "publish")
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out)
		}
		deps[regexp.MustCompile(`deps-[0-9a-f]{16}`).FindString(out)] = true
	}
	if len(deps) != 1 || deps[""] {
		t.Errorf("the dependency stage ran again after a change (its lines: %v)", deps)
	}
	n := dirSize(t, filepath.Join(dir, ".dtask"))
	t.Logf(".dtask after ten runs: %d bytes", n)
	if n >= 10<<20 {
		t.Errorf(".dtask holds %d bytes after ten runs, want < 10 MB", n)
	}
	if tags := bookkeepingTags(t, taskfile); len(tags) > 0 {
		t.Errorf("images dtask tagged for itself are left in the engine: %v", tags)
	}
	if ids := stageImages(t, taskfile); len(ids) > 1 {
		t.Errorf("%d stage images kept for one stage: %v", len(ids), ids)
	}
	if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n += info.Size()
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}

// bookkeepingTags lists the engine's dtask-cache/… tags of the task
// file's project.
func bookkeepingTags(t *testing.T, taskfile string) []string {
	t.Helper()
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		t.Fatalf("docker images: %v", err)
	}
	var tags []string
	for _, ref := range strings.Fields(string(out)) {
		if strings.HasPrefix(ref, "dtask-cache/") && strings.Contains(ref, projectID(taskfile)) {
			tags = append(tags, ref)
		}
	}
	return tags
}

// stageImages lists the engine's stage images of the task file's project
// (the classic builder's, untagged, labelled dev.dtask.stage).
func stageImages(t *testing.T, taskfile string) []string {
	t.Helper()
	out, err := exec.Command("docker", "images", "-a", "-q", "--filter", "label=dev.dtask.stage").Output()
	if err != nil || len(strings.Fields(string(out))) == 0 {
		return nil
	}
	out, err = exec.Command("docker", append([]string{"image", "inspect", "--format",
		`{{.Id}} {{index .Config.Labels "dev.dtask.stage"}}`}, strings.Fields(string(out))...)...).Output()
	if err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		if id, label, ok := strings.Cut(line, " "); ok && strings.Contains(label, projectID(taskfile)) {
			ids = append(ids, id)
		}
	}
	return ids
}
