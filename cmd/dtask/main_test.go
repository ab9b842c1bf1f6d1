package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dtask-dev/dtask/internal/dockertest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"dtask": func() { os.Exit(mainCode()) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script.
func TestScripts(t *testing.T) {
	// Scripts tag what they build dtask-test/cli-*; remove it, pass or fail.
	t.Cleanup(func() {
		out, err := exec.Command("docker", "images", "-q", "--filter", "reference=dtask-test/cli-*").Output()
		if ids := strings.Fields(string(out)); err == nil && len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
		}
	})
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// The scripts assert plain output; a CI provider's own mode
			// would change it.
			for _, v := range []string{"GITHUB_ACTIONS", "GITLAB_CI", "CI"} {
				env.Setenv(v, "")
			}
			env.Setenv("NO_COLOR", "1")
			// The engine under test: testscript starts scripts with a
			// clean environment, and dockerps asks this process's engine.
			for _, v := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_API_VERSION", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"} {
				if val, ok := os.LookupEnv(v); ok {
					env.Setenv(v, val)
				}
			}
			// The image cache's bulk goes to the user's cache folder.
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"-xdg") // outside the project: never a source
			env.Setenv("TASKFILE_EXAMPLES", filepath.Join(mustWD(), "..", "..", "engine", "taskfile", "testdata"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":   waitFile,
			"dockerps":   dockerPS,
			"fakeengine": fakeEngine,
			"noblob":     noBlob,
		},
		Condition: condition,
	})
}

// waitFile waits up to a timeout (seconds, default 20) for a file to exist.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: waitfile FILE [SECONDS]")
	}
	limit := 20 * time.Second
	if len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		limit = time.Duration(n) * time.Second
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within %s", args[0], limit)
}

func mustWD() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}

// condition answers [docker]: whether the engine is reachable. In CI a
// missing engine is an error, never a reason to skip.
func condition(cond string) (bool, error) {
	if testing.Short() && (cond == "docker" || cond == "registry") {
		return false, nil // make unit: the scripts of Docker's behaviour wait for make test
	}
	if cond == "registry" {
		return registryUp()
	}
	if cond != "docker" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	return dockertest.Condition("the Docker engine is unreachable", exec.Command("docker", "info").Run())
}

// dockerPS prints the containers and networks dtask made for the project
// of a task file (`dockerps Taskfile.toml`), one per line, so that
// `stdout` or `! stdout .` can assert on them.
func dockerPS(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: dockerps TASKFILE")
	}
	sum := sha256.Sum256([]byte(ts.MkAbs(args[0])))
	project := "label=dev.dtask.project=" + hex.EncodeToString(sum[:6])
	var out strings.Builder
	for _, kind := range []string{"container", "network"} {
		cmd := exec.Command("docker", kind, "ls", "-q", "--filter", project)
		if kind == "container" {
			cmd.Args = append(cmd.Args, "-a")
		}
		b, err := cmd.Output()
		ts.Check(err)
		for _, id := range strings.Fields(string(b)) {
			fmt.Fprintf(&out, "%s %s\n", kind, id)
		}
	}
	ts.Stdout().Write([]byte(out.String()))
}

// registryUp answers [registry]: whether the local registry
// (scripts/fixtures/registry.sh start) answers on 127.0.0.1:5000. In CI a
// missing registry is an error.
func registryUp() (bool, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:5000/v2/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	if err != nil && os.Getenv("CI") == "true" {
		return false, fmt.Errorf("CI=true but the local registry on 127.0.0.1:5000 does not answer (scripts/fixtures/registry.sh start): %v", err)
	}
	return err == nil, nil
}

// noBlob fails when any blob of a registry repository (`noblob REPO
// VALUE...`), gzip-decompressed where it is gzip, holds one of the values:
// what the team cache publishes must never carry a secret.
func noBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: noblob REPO VALUE...")
	}
	repo, err := name.NewRepository(args[0], name.Insecure)
	ts.Check(err)
	tags, err := remote.List(repo)
	ts.Check(err)
	seen := map[string]bool{}
	for _, tag := range tags {
		d, err := remote.Get(repo.Tag(tag))
		ts.Check(err)
		var m struct {
			Config v1.Descriptor   `json:"config"`
			Layers []v1.Descriptor `json:"layers"`
		}
		ts.Check(json.Unmarshal(d.Manifest, &m))
		checkBlob(ts, "manifest "+tag, d.Manifest, args[1:])
		for _, desc := range append(m.Layers, m.Config) {
			if seen[desc.Digest.String()] {
				continue
			}
			seen[desc.Digest.String()] = true
			l, err := remote.Layer(repo.Digest(desc.Digest.String()))
			ts.Check(err)
			rc, err := l.Compressed()
			ts.Check(err)
			b, err := io.ReadAll(rc)
			rc.Close()
			ts.Check(err)
			if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
				if u, err := io.ReadAll(zr); err == nil {
					b = u
				}
			}
			checkBlob(ts, desc.Digest.String(), b, args[1:])
		}
	}
	ts.Logf("noblob: %d tags, %d blobs checked", len(tags), len(seen))
	if len(seen) == 0 {
		ts.Fatalf("no blobs in %s", args[0])
	}
}

func checkBlob(ts *testscript.TestScript, what string, b []byte, values []string) {
	for _, v := range values {
		if bytes.Contains(b, []byte(v)) {
			ts.Fatalf("%s holds a secret value", what)
		}
	}
}
