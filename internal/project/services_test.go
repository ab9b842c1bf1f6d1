package project

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/targets/run"
)

// TestCloseServicesMasksItsError: the error of removing a run's or a
// watch session's services is printed outside any display, so it comes
// masked: an engine's message may quote a service's secret env.
func TestCloseServicesMasksItsError(t *testing.T) {
	t.Setenv("DTASK_CACHE_DIR", "")
	const secret = "hunter2-but-longer"
	t.Setenv("DTASK_TEST_DB_PASSWORD", secret)
	path := writeTaskfile(t, `version = 1
[secrets]
DB_PASSWORD = { env = "DTASK_TEST_DB_PASSWORD" }
[services.db]
image = "busybox:latest"
env = { PASSWORD = "${DB_PASSWORD}" }
[targets.test]
services = ["db"]
run = { image = "busybox:latest", cmd = ["true"] }
`)
	p, err := Load(Options{File: path}, &ui.Masker{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Runner(nil, nil); err != nil { // registers the secrets with the masker
		t.Fatal(err)
	}
	f := fakedocker.New()
	f.AddImage("busybox:latest")
	p.Env.Dial = f.Dial
	p.Env.Images = nil // the fake cannot save images: nothing to say about that
	pool := run.NewServicePool(p.Env)
	tg := p.File.Targets["test"]
	if _, err := pool.Up(context.Background(), tg.Services, &engine.Exec{Target: tg}); err != nil {
		t.Fatal(err)
	}
	f.Fail("ContainerRemove", errors.New("cannot remove container with env PASSWORD="+secret))
	err = p.CloseServices(pool)
	if err == nil {
		t.Fatal("CloseServices succeeded; want the removal's error")
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "PASSWORD=***") {
		t.Errorf("error %q; want the secret masked as ***", err)
	}
}
