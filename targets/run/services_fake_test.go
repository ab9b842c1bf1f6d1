package run

import (
	"context"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// A services' network create that Ctrl-C interrupts is still waited for
// (a grace): the engine makes the network whether dtask waits for the
// answer or not, and the pool must learn its ID to remove it. Given up on
// at once, the network would be left behind. The order is explicit:
// Ctrl-C comes after the create reached the engine and before the engine
// made the network.
func TestFakeInterruptedNetworkCreateIsStillRemoved(t *testing.T) {
	e, f := fakeEnv(t)
	addService(e, &taskfile.Service{Name: "svc", Image: "busybox:latest"})
	tg := trueTarget("test", "svc")
	e.File.Targets[tg.Name] = tg
	pool := NewServicePool(e)
	x, _ := pooledExec(tg, pool)
	arrived, release := f.Hold("NetworkCreate")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	PrestartServices(ctx, e, tg, x)
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatal("hung: the start ahead never asked for its network")
	}
	cancel()  // Ctrl-C while the engine makes the network,
	release() // which it has made now.
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, n := fakeObjects(t, f, projectLabel(e)); c != 0 || n != 0 {
		t.Errorf("after Close: %d containers, %d networks; want none (engine calls: %v)", c, n, f.Calls())
	}
}
