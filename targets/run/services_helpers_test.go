package run

import (
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// The set-up the service tests share.

// slowServiceEnv is a project with a busybox service ready a second after
// it starts.
func slowServiceEnv(t *testing.T) *targets.Env {
	t.Helper()
	e := busyboxEnv(t)
	addService(e, &taskfile.Service{Name: "svc", Image: "busybox:latest",
		Cmd:   []string{"sh", "-c", "sleep 1; touch /tmp/ready; sleep 3600"},
		Ready: &taskfile.Ready{Cmd: "test -f /tmp/ready", Interval: dur(50 * time.Millisecond), Timeout: dur(60 * time.Second)}})
	return e
}

// trueTarget is a run target that uses services and exits 0 at once.
func trueTarget(name string, services ...string) *taskfile.Target {
	return &taskfile.Target{Name: name, Services: services,
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}}
}

// pooledExec is an Exec for tg that takes its services from pool, as a
// run's targets and watch mode's runs do.
func pooledExec(tg *taskfile.Target, pool *ServicePool) (*engine.Exec, *syncBuffer) {
	x, out, _, _ := testExec(tg)
	x.Shared = pool
	return x, out
}
