package deploy

import (
	"context"
	"testing"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/build"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/run"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// The helpers of the deploy tests, most of them targettest's under the
// names these tests have always used.

// testKinds are the kinds the deploy tests make: deploy, and the build
// and run targets around it.
func testKinds() []targets.Kind {
	return []targets.Kind{{Name: "deploy", Make: New}, {Name: "build", Make: build.New}, {Name: "run", Make: run.New}}
}

func testEnv(t *testing.T) *targets.Env {
	t.Helper()
	return targettest.Env(t, testKinds()...)
}

// dpEnv is testEnv with its connection to the local engine.
func dpEnv(t *testing.T) (*targets.Env, *docker.Client) {
	t.Helper()
	e := testEnv(t)
	cli, err := e.Docker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e, cli
}

func containerRunning(ctx context.Context, cli *docker.Client, id string) bool {
	return run.ContainerRunning(ctx, cli, id)
}
