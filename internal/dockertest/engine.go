package dockertest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Engine asks once whether the Docker engine answers. A test package
// keeps one in a package variable of its tests.
type Engine struct {
	once sync.Once
	err  error
}

// Check reports whether Docker tests can run: nil when the engine
// answers. Without an engine it returns a skip reason that says how to
// enable them, except under CI=true, where a missing engine is an error:
// Docker tests never skip in CI.
func (e *Engine) Check() (run bool, err error) {
	e.once.Do(func() { e.err = exec.Command("docker", "info").Run() })
	if e.err == nil {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("CI=true but the Docker engine is unreachable (docker info: %v; DOCKER_HOST=%q)", e.err, os.Getenv("DOCKER_HOST"))
	}
	return false, nil
}

// Need skips t without an engine (saying how to enable the test), and
// fails it under CI=true.
func (e *Engine) Need(t testing.TB) {
	t.Helper()
	Short(t)
	run, err := e.Check()
	switch {
	case err != nil:
		t.Fatal(err)
	case !run:
		t.Skipf("Docker engine unreachable (docker info: %v): start dockerd or set DOCKER_HOST to run this test; run `make fixtures` for its images", e.err)
	}
}

// Short skips a test that needs an engine under -short: `make unit` runs
// the logic tests (the fake engine's among them) and leaves Docker's own
// behaviour to `make test`, which never passes -short.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Docker engine: not run under -short (make test runs it)")
	}
}

// Images fails (under CI=true) or skips the test when a fixture image is
// missing from the engine DOCKER_HOST names.
func Images(t testing.TB, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).CombinedOutput()
		if err != nil {
			Need(t, "fixture image "+ref+" missing: "+strings.TrimSpace(string(out)), "make fixtures")
		}
	}
}
