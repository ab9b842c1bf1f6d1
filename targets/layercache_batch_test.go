package targets

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/targets/docker"
)

// exports records the docker saves a batch makes, failing those that name
// a bad image.
type exports struct {
	mu    sync.Mutex
	calls []map[string]string
}

func (x *exports) export(_ context.Context, _ *docker.Client, tags map[string]string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.calls = append(x.calls, maps.Clone(tags))
	if slices.Contains(slices.Collect(maps.Values(tags)), "sha256:gone") {
		return errors.New("no such image")
	}
	return nil
}

func (x *exports) count() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.calls)
}

// saveAsync starts a batched save and returns where its error arrives.
func saveAsync(e *Env, tags map[string]string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- e.batchSave(context.Background(), nil, tags, func() {}) }()
	return done
}

// Two saves of build targets that share a stage wait while a build runs,
// and then go as one docker save of both.
func TestSavesWaitForBuildsAndGoAsOne(t *testing.T) {
	e := &Env{}
	x := &exports{}
	e.layerRun().batch.export = x.export
	building := e.Busy()
	a := saveAsync(e, map[string]string{"test.stage-base": "sha256:base", "test.image": "sha256:test"})
	b := saveAsync(e, map[string]string{"app.stage-base": "sha256:base", "app.image": "sha256:app"})
	time.Sleep(100 * time.Millisecond) // both queued (a wrong export would show by now)
	if n := x.count(); n != 0 {
		t.Fatalf("%d docker saves while a build runs; want none", n)
	}
	building()
	building() // a second call changes nothing
	for _, c := range []<-chan error{a, b} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if len(x.calls) != 1 || len(x.calls[0]) != 4 {
		t.Fatalf("docker saves %v; want one of all four tags", x.calls)
	}
	if err := <-saveAsync(e, map[string]string{"svc": "sha256:svc"}); err != nil || x.count() != 2 {
		t.Fatalf("a save with no build running: %v, %d docker saves", err, x.count())
	}
}

// When the batch's docker save fails, each save goes again on its own:
// only the one naming the missing image fails.
func TestFailedBatchRetriesEachSave(t *testing.T) {
	e := &Env{}
	x := &exports{}
	e.layerRun().batch.export = x.export
	building := e.Busy()
	good := saveAsync(e, map[string]string{"a.image": "sha256:a"})
	bad := saveAsync(e, map[string]string{"b.image": "sha256:gone"})
	time.Sleep(100 * time.Millisecond)
	building()
	if err := <-good; err != nil {
		t.Errorf("the save of a present image failed with its batch: %v", err)
	}
	if err := <-bad; err == nil {
		t.Error("the save of a missing image succeeded")
	}
	if x.count() != 3 {
		t.Errorf("%d docker saves; want the batch and one for each save", x.count())
	}
}

// A save that held Busy while it built its stages ends that hold only once
// it is queued: the batch its end starts takes it too.
func TestSaveEndingItsHoldJoinsTheBatch(t *testing.T) {
	e := &Env{}
	x := &exports{}
	e.layerRun().batch.export = x.export
	preparing := e.Busy()
	svc := saveAsync(e, map[string]string{"ref-svc": "sha256:svc"})
	time.Sleep(50 * time.Millisecond)
	if err := e.batchSave(context.Background(), nil, map[string]string{"app.image": "sha256:app"}, preparing); err != nil {
		t.Fatal(err)
	}
	if err := <-svc; err != nil {
		t.Fatal(err)
	}
	if len(x.calls) != 1 || len(x.calls[0]) != 2 {
		t.Errorf("docker saves %v; want one of both", x.calls)
	}
}
