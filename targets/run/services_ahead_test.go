package run

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

func TestPrestartedServiceIsFreshForItsTarget(t *testing.T) {
	t.Parallel()
	e := slowServiceEnv(t)
	migrate, tg := trueTarget("migrate", "svc"), trueTarget("test", "svc")
	tg.Deps = []string{"migrate"}
	e.File.Targets["migrate"], e.File.Targets["test"] = migrate, tg
	pool := NewServicePool(e)
	ctx := context.Background()
	x, out := pooledExec(tg, pool)
	x.Verbose = true
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
	// Started for it, not shared with an earlier target (migrate's run
	// again, after that, shares it).
	if i := strings.Index(out.String(), "already running"); i >= 0 && i < strings.Index(out.String(), "started ahead") {
		t.Errorf("a service started ahead is first said to be shared:\n%s", out.String())
	}
	wantObjects(t, e, 1, 1, "the one service and its network")
	if err := pool.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, e, 0, 0, "after Close")
}

// prestarted adds tg to e and starts its services ahead in a new pool.
func prestarted(e *targets.Env, tg *taskfile.Target) (*ServicePool, *engine.Exec) {
	e.File.Targets[tg.Name] = tg
	pool := NewServicePool(e)
	x, _, _, _ := testExec(tg)
	x.Shared = pool
	PrestartServices(context.Background(), e, tg, x)
	return pool, x
}

// A start ahead that no target takes (its dep failed) is stopped and
// removed when the run's pool closes, also while it is still starting.
func TestCloseStopsAStartAhead(t *testing.T) {
	t.Parallel()
	e := slowServiceEnv(t)
	pool, x := prestarted(e, trueTarget("test", "svc"))
	tg := e.File.Targets["test"]
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, e, 0, 0, "after Close")
	PrestartServices(context.Background(), e, tg, x) // closed: starts nothing
	wantObjects(t, e, 0, 0, "a start ahead after Close")
}

// A target that lists a service built by a target of the run (a compose
// file's built service) and one from a known image: the known one still
// starts ahead, beside the deps; the built one waits for its build.
func TestPrestartStartsTheServicesWhoseImageIsKnown(t *testing.T) {
	t.Parallel()
	e := slowServiceEnv(t)
	addService(e, &taskfile.Service{Name: "built", Build: "built-image", Image: "dtask-test/prestart-built:never"})
	e.File.Targets["built-image"] = &taskfile.Target{Name: "built-image",
		Build: &taskfile.Build{Context: ".", Tags: []string{"dtask-test/prestart-built:never"}}}
	tg := &taskfile.Target{Name: "test", Deps: []string{"built-image"}, Services: []string{"svc", "built"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}}
	pool, _ := prestarted(e, tg)
	pool.ahead.Wait()
	if c, _ := projectObjects(t, e); c != 1 {
		t.Errorf("%d containers after the start ahead; want svc's alone", c)
	}
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartableAheadLeavesBuiltServicesAndTheirDependents(t *testing.T) {
	f := &taskfile.File{Services: map[string]*taskfile.Service{
		"db":    {Name: "db", Image: "mariadb:10.11"},
		"cache": {Name: "cache", Build: "compose:cache"},
		"web":   {Name: "web", Image: "nginx", DependsOn: []string{"cache"}},
		"app":   {Name: "app", Image: "app:dev"},
	}, Targets: map[string]*taskfile.Target{
		"image": {Name: "image", Build: &taskfile.Build{Tags: []string{"app:dev"}}},
	}}
	got := startableAhead(f, []string{"cache", "web", "db", "app"})
	if len(got) != 1 || got[0] != "db" {
		t.Errorf("startableAhead = %v, want [db]", got)
	}
}

// A second dep of the target starting while the first one's start ahead
// is still waiting for the service to be ready goes on at once: the
// worker running it was held until the service was ready (the pool's
// lock, which that start holds throughout).
func TestPrestartDoesNotWaitForAStartInProgress(t *testing.T) {
	t.Parallel()
	e := slowServiceEnv(t) // svc: ready a second after it starts
	tg := trueTarget("test", "svc")
	pool, x := prestarted(e, tg)
	defer func() {
		// Close stops the start in progress, perhaps while it creates
		// the services' network: that network is still removed (a create
		// given up on mid-way would be made by the engine after Close:
		// TestFakeInterruptedNetworkCreateIsStillRemoved orders that).
		if err := pool.Close(context.Background()); err != nil {
			t.Error(err)
		}
		wantObjects(t, e, 0, 0, "after Close")
	}()
	for pool.mu.TryLock() { // until the first start holds the lock
		pool.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	PrestartServices(context.Background(), e, tg, x)
	if pool.mu.TryLock() {
		pool.mu.Unlock()
		t.Error("the second start ahead returned only after the first had made the service ready")
	}
}
