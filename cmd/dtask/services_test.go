package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/testfs"
)

// A stateful service that a migrate target writes and a test target
// reads: both list it, so one run must share it.
const sharedServiceTaskfile = `version = 1
%s
[targets.migrate]
services = ["kv"]
run = { image = "redis:7", cmd = ["redis-cli", "-h", "kv", "set", "schema", "v1"] }

[targets.test]
deps = ["migrate"]
services = ["kv"]
run = { image = "redis:7", volumes = ["./src:/src:ro"], cmd = ["sh", "-c", "test \"$(redis-cli -h kv get schema)\" = v1 && echo schema-found $(cat /src/a.txt)"] }
`

const kvInTaskfile = `[services.kv]
image = "redis:7"
ready = { tcp = 6379 }
`

const kvInCompose = `compose = "compose.yaml"
`

const kvCompose = `services:
  kv:
    image: redis:7
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      timeout: 2s
      retries: 20
`

func sharedServiceDir(t *testing.T, fromCompose bool) (dir, taskfile string) {
	t.Helper()
	dir = t.TempDir()
	taskfile = filepath.Join(dir, "Taskfile.toml")
	svc := kvInTaskfile
	if fromCompose {
		svc = kvInCompose
		testfs.Write(t, filepath.Join(dir, "compose.yaml"), kvCompose)
	}
	testfs.Write(t, taskfile, strings.Replace(sharedServiceTaskfile, "%s", svc, 1))
	testfs.Write(t, filepath.Join(dir, "src/a.txt"), "v1")
	removeLeftovers(t, taskfile)
	return dir, taskfile
}

// serviceStarts counts, from the engine's events, the containers of the
// project's service started since since.
func serviceStarts(t *testing.T, taskfile, service string, since time.Time) int {
	t.Helper()
	sum := sha256.Sum256([]byte(taskfile))
	out, err := exec.Command("docker", "events", "--since", since.Add(-time.Second).Format(time.RFC3339Nano),
		"--until", time.Now().Add(time.Second).Format(time.RFC3339Nano),
		"--filter", "type=container", "--filter", "event=start",
		"--filter", "label=dev.dtask.project="+hex.EncodeToString(sum[:6]),
		"--filter", "label=dev.dtask.service="+service, "--format", "{{.ID}}").Output()
	if err != nil {
		t.Fatalf("docker events: %v", err)
	}
	return len(strings.Fields(string(out)))
}

func runDtask(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	return runDtaskEnv(t, dir, nil, args...)
}

// runDtaskEnv is runDtask with env added last (it wins: CI=true makes a
// CI run).
func runDtaskEnv(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("dtask", append([]string{"--output", "plain"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "CI=", "GITHUB_ACTIONS=", "GITLAB_CI="), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSharedServiceStartsOncePerRun: migrate and test both list kv; a
// plain run starts it once, test reads what migrate wrote, and nothing is
// left afterwards. The same file from compose.yaml behaves the same.
func TestSharedServiceStartsOncePerRun(t *testing.T) {
	needDocker(t)
	for _, fromCompose := range []bool{false, true} {
		name := map[bool]string{false: "taskfile", true: "compose"}[fromCompose]
		t.Run(name, func(t *testing.T) {
			dir, taskfile := sharedServiceDir(t, fromCompose)
			since := time.Now()
			out, err := runDtask(t, dir, "-v", "test")
			if err != nil {
				t.Fatalf("dtask test: %v\n%s", err, out)
			}
			if !strings.Contains(out, "schema-found v1") {
				t.Errorf("test did not see what migrate wrote:\n%s", out)
			}
			if n := serviceStarts(t, taskfile, "kv", since); n != 1 {
				t.Errorf("service kv started %d times, want 1:\n%s", n, out)
			}
			if !strings.Contains(out, "service kv: already running") {
				t.Errorf("-v does not say the service was shared:\n%s", out)
			}
			if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
				t.Errorf("containers left: %v", left)
			}
			if left := dockerIDs(t, taskfile, "network", false); len(left) != 0 {
				t.Errorf("networks left: %v", left)
			}
			if fromCompose {
				return
			}
			// migrate is up to date now, test is not: kv starts fresh for
			// test, so migrate prepares it again first.
			testfs.Write(t, filepath.Join(dir, "src/a.txt"), "v2")
			since = time.Now()
			out, err = runDtask(t, dir, "-v", "test")
			if err != nil || !strings.Contains(out, "schema-found v2") || !strings.Contains(out, "[migrate] cached") {
				t.Fatalf("second run (migrate cached): %v\n%s", err, out)
			}
			if !strings.Contains(out, "running migrate again") {
				t.Errorf("-v does not say migrate ran again:\n%s", out)
			}
			if n := serviceStarts(t, taskfile, "kv", since); n != 1 {
				t.Errorf("second run: kv started %d times, want 1", n)
			}
		})
	}
}

// TestSharedServiceWatch: the same task file under -w passes too, and a
// change re-runs test without restarting the service.
func TestSharedServiceWatch(t *testing.T) {
	needDocker(t)
	dir, taskfile := sharedServiceDir(t, false)
	since := time.Now()
	w := startWatch(t, dir, "test")
	w.waitOutput("schema-found v1", 60*time.Second)
	testfs.Write(t, filepath.Join(dir, "src/a.txt"), "v2")
	w.waitOutput("schema-found v2", 60*time.Second)
	if n := serviceStarts(t, taskfile, "kv", since); n != 1 {
		t.Errorf("service kv started %d times over two runs, want 1:\n%s", n, w.output())
	}
	w.interrupt()
	if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// A compose service built from a Dockerfile: the context, dockerfile, args
// and target reach the build (the last stage fails, and the port comes
// from an arg), and the shared-service pipeline runs against it.
const kvBuiltCompose = `services:
  kv:
    image: %s
    build:
      context: ./kv
      dockerfile: Dockerfile.kv
      target: kv
      args:
        PORT: "6390"
    command: ["redis-server", "/etc/kv.conf"]
    healthcheck:
      test: ["CMD", "redis-cli", "-p", "6390", "ping"]
      interval: 1s
      retries: 20
`

const kvDockerfile = `FROM redis:7 AS kv
ARG PORT
RUN echo "port $PORT" > /etc/kv.conf
FROM kv
RUN false
`

func TestComposeBuildService(t *testing.T) {
	needDocker(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the build's image cache, removed afterwards
	dir, taskfile := sharedServiceDir(t, true)
	image := "dtask-pipelines-kvbuilt:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	testfs.Write(t, filepath.Join(dir, "compose.yaml"), strings.Replace(kvBuiltCompose, "%s", image, 1))
	testfs.Write(t, filepath.Join(dir, "kv", "Dockerfile.kv"), kvDockerfile)
	tf := strings.ReplaceAll(strings.Replace(sharedServiceTaskfile, "%s", kvInCompose, 1), "-h kv", "-h kv -p 6390")
	tf = strings.ReplaceAll(tf, `"-h", "kv"`, `"-h", "kv", "-p", "6390"`)
	testfs.Write(t, taskfile, tf)
	out, err := runDtask(t, dir, "test")
	if err != nil {
		t.Fatalf("dtask test: %v\n%s", err, out)
	}
	if !strings.Contains(out, "schema-found v1") || !strings.Contains(out, "[compose:kv]") {
		t.Errorf("the built service was not used:\n%s", out)
	}
	if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestComposeBuildServiceRestoredOnAFreshEngine: in CI, with the built
// service's build cached and its image gone from the engine (a fresh
// machine), a test that runs again starts the service from the image
// restored out of the image cache. The restore removed its only name
// and with it the image: "No such image" at the container's creation.
func TestComposeBuildServiceRestoredOnAFreshEngine(t *testing.T) {
	needDocker(t)
	dir, taskfile := sharedServiceDir(t, true)
	image := "dtask-pipelines-kvfresh:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	rmi := func() { _ = exec.Command("docker", "rmi", "-f", image).Run() }
	t.Cleanup(rmi)
	testfs.Write(t, filepath.Join(dir, "compose.yaml"), strings.Replace(kvBuiltCompose, "%s", image, 1))
	testfs.Write(t, filepath.Join(dir, "kv", "Dockerfile.kv"), kvDockerfile)
	tf := strings.ReplaceAll(strings.Replace(sharedServiceTaskfile, "%s", kvInCompose, 1), "-h kv", "-h kv -p 6390")
	testfs.Write(t, taskfile, strings.ReplaceAll(tf, `"-h", "kv"`, `"-h", "kv", "-p", "6390"`))
	env := []string{"CI=true", "DTASK_CACHE_DIR=" + filepath.Join(dir, ".dtask")}
	if out, err := runDtaskEnv(t, dir, env, "test"); err != nil {
		t.Fatalf("dtask test: %v\n%s", err, out)
	}
	rmi()
	testfs.Write(t, filepath.Join(dir, "src/a.txt"), "v2") // test runs again; compose:kv is up to date
	out, err := runDtaskEnv(t, dir, env, "test")
	if err != nil {
		t.Fatalf("dtask test on a fresh engine: %v\n%s", err, out)
	}
	if !strings.Contains(out, "schema-found v2") {
		t.Errorf("test did not run against the restored service:\n%s", out)
	}
}
