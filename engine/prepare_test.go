package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// preparing is a fake that is also a Preparer: it notes each Prepare, and
// whether the dep named in before was still running then.
type preparing struct {
	*fake
	always   bool
	mu       *sync.Mutex
	prepared *[]string
}

func (p *preparing) Plan(ctx context.Context, pl *Plan) error {
	if p.always {
		pl.Always("no sources")
	}
	return p.fake.Plan(ctx, pl)
}

func (p *preparing) Prepare(_ context.Context, x *Exec) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.prepared = append(*p.prepared, x.Target.Name)
}

// prepareRunner runs f with preparing actions; always names the targets
// that run every time.
func prepareRunner(t *testing.T, f *taskfile.File, w *world, always ...string) (*Runner, func() []string) {
	var mu sync.Mutex
	var prepared []string
	r := newRunner(t, f, w)
	r.Actions = func(tg *taskfile.Target, _ *taskfile.File) (Action, error) {
		return &preparing{fake: &fake{name: tg.Name, world: w}, always: slices.Contains(always, tg.Name), mu: &mu, prepared: &prepared}, nil
	}
	return r, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(prepared) }
}

func TestDependentWithServicesIsPreparedWhileItsDepRuns(t *testing.T) {
	f := graph(t, "ci: test lint", "test: image", "lint: image", "image:")
	f.Targets["test"].Services = []string{"db"}
	w := newWorld()
	release := make(chan struct{})
	w.block["image"] = release
	r, prepared := prepareRunner(t, f, w)
	seen := make(chan []string, 1)
	go func() {
		w.waitStarted("image")
		deadline := time.Now().Add(time.Minute)
		for len(prepared()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		seen <- prepared() // while image still runs
		close(release)
	}()
	if _, err := r.Run(context.Background(), []string{"ci"}); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; !slices.Equal(got, []string{"test"}) {
		t.Errorf("prepared while image ran: %v, want [test] (lint lists no services)", got)
	}
	if got := prepared(); len(got) != 1 {
		t.Errorf("prepared %v, want test once", got)
	}

	// Nothing to run: nothing to prepare; a dry run prepares nothing either.
	r2, prepared2 := prepareRunner(t, f, w)
	r2.Store, r2.Index = r.Store, r.Index
	if _, err := r2.Run(context.Background(), []string{"ci"}); err != nil {
		t.Fatal(err)
	}
	w.def["image"] = "v2"
	r3, prepared3 := prepareRunner(t, f, w)
	r3.Store, r3.Index, r3.Opts.DryRun = r.Store, r.Index, true
	if _, err := r3.Run(context.Background(), []string{"ci"}); err != nil {
		t.Fatal(err)
	}
	if got := append(prepared2(), prepared3()...); len(got) != 0 {
		t.Errorf("prepared %v with nothing to run and in a dry run, want nothing", got)
	}
}

func TestDepThatRunsEveryTimePreparesNothing(t *testing.T) {
	f := graph(t, "test: version", "version:")
	f.Targets["test"].Services = []string{"db"}
	w := newWorld()
	r, prepared := prepareRunner(t, f, w, "version")
	if _, err := r.Run(context.Background(), []string{"test"}); err != nil {
		t.Fatal(err)
	}
	if got := prepared(); len(got) != 0 {
		t.Errorf("prepared %v after a dep that runs every time, want nothing: it may leave test up to date", got)
	}
}

// A target whose deps all run is prepared, and its action made for that,
// once: not again for each dep.
func TestDependentIsPreparedOnceWhateverItsDepsThatRun(t *testing.T) {
	f := graph(t, "test: image migrate seed", "image:", "migrate:", "seed:")
	f.Targets["test"].Services = []string{"db"}
	w := newWorld()
	r, prepared := prepareRunner(t, f, w)
	var mu sync.Mutex
	made := 0 // actions made for test: to prepare it, then to run it
	actions := r.Actions
	r.Actions = func(tg *taskfile.Target, f *taskfile.File) (Action, error) {
		if tg.Name == "test" {
			mu.Lock()
			made++
			mu.Unlock()
		}
		return actions(tg, f)
	}
	if _, err := r.Run(context.Background(), []string{"test"}); err != nil {
		t.Fatal(err)
	}
	if got := prepared(); !slices.Equal(got, []string{"test"}) {
		t.Errorf("prepared %v, want test once for its three deps that ran", got)
	}
	if made != 2 {
		t.Errorf("made test's action %d times, want 2 (one to prepare, one to run)", made)
	}
}
