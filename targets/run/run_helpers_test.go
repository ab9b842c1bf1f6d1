package run

import (
	"context"
	"testing"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// The helpers of the run tests, most of them targettest's under the names
// these tests have always used.

// testKinds are the kinds the run tests make (sh would be a cycle: it
// uses this package).
func testKinds() []targets.Kind {
	return []targets.Kind{{Name: "run", Make: New}}
}

func randHex(n int) string { return targettest.RandHex(n) }

func testEnv(t *testing.T) *targets.Env {
	t.Helper()
	return targettest.Env(t, testKinds()...)
}

// busyboxEnv is a fresh project on the local engine, which has busybox.
func busyboxEnv(t *testing.T) *targets.Env {
	t.Helper()
	e := testEnv(t)
	needImage(t, "busybox:latest")
	return e
}

func newTestEnv(t *testing.T) *targets.Env { return targettest.NewEnv(t, testKinds()...) }

func projectObjects(t *testing.T, e *targets.Env) (containers, networks int) {
	t.Helper()
	return targettest.Objects(t, e)
}

// wantObjects fails t unless e's project has that many containers and
// networks; when says at which point of the test.
func wantObjects(t *testing.T, e *targets.Env, containers, networks int, when string) {
	t.Helper()
	if c, n := projectObjects(t, e); c != containers || n != networks {
		t.Errorf("%s: %d containers, %d networks; want %d, %d", when, c, n, containers, networks)
	}
}

func needImage(t *testing.T, refs ...string) {
	t.Helper()
	dockertest.Images(t, refs...)
}

type syncBuffer = targettest.SyncBuffer

func testExec(tg *taskfile.Target) (*engine.Exec, *syncBuffer, *syncBuffer, *syncBuffer) {
	return targettest.Exec(tg)
}

// runTarget adds a run target to e's file and runs it.
func runTarget(t *testing.T, ctx context.Context, e *targets.Env, tg *taskfile.Target) (string, string, error) {
	t.Helper()
	e.File.Targets[tg.Name] = tg
	x, out, errb, _ := testExec(tg)
	_, err := New(e, tg).Run(ctx, x)
	return out.String(), errb.String(), err
}
