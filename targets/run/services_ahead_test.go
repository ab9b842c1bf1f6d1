package run

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// slowService is a busybox service ready a second after it starts.
func slowService(e *targets.Env) {
	addService(e, &taskfile.Service{Name: "svc", Image: "busybox:latest",
		Cmd:   []string{"sh", "-c", "sleep 1; touch /tmp/ready; sleep 3600"},
		Ready: &taskfile.Ready{Cmd: "test -f /tmp/ready", Interval: dur(50 * time.Millisecond), Timeout: dur(60 * time.Second)}})
}

func TestPrestartedServiceIsFreshForItsTarget(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	needImage(t, "busybox:latest")
	slowService(e)
	migrate := &taskfile.Target{Name: "migrate", Services: []string{"svc"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}}
	tg := &taskfile.Target{Name: "test", Deps: []string{"migrate"}, Services: []string{"svc"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}}
	e.File.Targets["migrate"], e.File.Targets["test"] = migrate, tg
	pool := NewServicePool(e)
	ctx := context.Background()
	x, out, _, _ := testExec(tg)
	x.Shared, x.Verbose = pool, true
	// Twice, as two deps of the target that run would ask: one start.
	PrestartServices(ctx, e, tg, x)
	PrestartServices(ctx, e, tg, x)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// migrate is up to date (not run): the service started ahead has none
	// of its work, so it runs again first, as for a service started now.
	for _, want := range []string{"service svc: started ahead of test", "running migrate again"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if c, n := projectObjects(t, e); c != 1 || n != 1 {
		t.Errorf("%d containers, %d networks; want the one service and its network", c, n)
	}
	if err := pool.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c, n := projectObjects(t, e); c != 0 || n != 0 {
		t.Errorf("after Close: %d containers, %d networks", c, n)
	}
}

// A start ahead that no target takes (its dep failed) is stopped and
// removed when the run's pool closes, also while it is still starting.
func TestCloseStopsAStartAhead(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	needImage(t, "busybox:latest")
	slowService(e)
	tg := &taskfile.Target{Name: "test", Services: []string{"svc"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}}
	e.File.Targets["test"] = tg
	pool := NewServicePool(e)
	x, _, _, _ := testExec(tg)
	x.Shared = pool
	PrestartServices(context.Background(), e, tg, x)
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, n := projectObjects(t, e); c != 0 || n != 0 {
		t.Errorf("after Close: %d containers, %d networks", c, n)
	}
	PrestartServices(context.Background(), e, tg, x) // closed: starts nothing
	if c, n := projectObjects(t, e); c != 0 || n != 0 {
		t.Errorf("a start ahead after Close: %d containers, %d networks", c, n)
	}
}
