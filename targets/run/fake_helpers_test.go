package run

import (
	"context"
	"testing"

	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// fakeEnv is an Env for a fresh project whose engine is the in-process
// fake, with busybox:latest in it: for tests of dtask's logic (naming,
// bookkeeping, error paths), which need no engine and run under -short.
func fakeEnv(t *testing.T) (*targets.Env, *fakedocker.Engine) {
	t.Helper()
	f := fakedocker.New()
	f.AddImage("busybox:latest")
	e := newTestEnv(t)
	e.Dial = f.Dial
	return e, f
}

// fakeObjects counts the fake engine's containers and networks with label.
func fakeObjects(t *testing.T, f *fakedocker.Engine, label string) (containers, networks int) {
	t.Helper()
	c, n, err := dockertest.Objects(context.Background(), f, label)
	if err != nil {
		t.Fatal(err)
	}
	return len(c), len(n)
}

// projectLabel selects the objects of e's project.
func projectLabel(e *targets.Env) string { return docker.LabelProject + "=" + e.Project }
