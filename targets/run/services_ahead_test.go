package run

import (
	"context"
	"strings"
	"testing"
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
	wantObjects(t, e, 1, 1, "the one service and its network")
	if err := pool.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, e, 0, 0, "after Close")
}

// A start ahead that no target takes (its dep failed) is stopped and
// removed when the run's pool closes, also while it is still starting.
func TestCloseStopsAStartAhead(t *testing.T) {
	t.Parallel()
	e := slowServiceEnv(t)
	tg := trueTarget("test", "svc")
	e.File.Targets["test"] = tg
	pool := NewServicePool(e)
	x, _ := pooledExec(tg, pool)
	PrestartServices(context.Background(), e, tg, x)
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, e, 0, 0, "after Close")
	PrestartServices(context.Background(), e, tg, x) // closed: starts nothing
	wantObjects(t, e, 0, 0, "a start ahead after Close")
}
