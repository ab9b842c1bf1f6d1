package targets

import (
	"context"
	"testing"
	"time"
)

// A graced create's context outlives the run's cancellation until its
// grace is over, then ends; the grace starts with the run's cancellation,
// not before. The grace here is ended by the test, so the order is set
// and no clock is read; Graced gives later the CreateGrace timer.
func TestGracedOutlivesCancellationUntilTheGraceEnds(t *testing.T) {
	t.Parallel()
	started := make(chan func(), 1)
	run, stopRun := context.WithCancel(context.Background())
	ctx, cancel := graced(run, func(end func()) { started <- end })
	defer cancel()
	select {
	case <-started:
		t.Fatal("the grace started before the run was cancelled")
	default:
	}
	stopRun()
	var end func()
	select {
	case end = <-started:
	case <-time.After(time.Minute):
		t.Fatal("hung: the run's cancellation never started the grace")
	}
	if ctx.Err() != nil {
		t.Fatal("the create's context ended with the run's: a create under way would be given up on")
	}
	end()
	if ctx.Err() == nil {
		t.Fatal("the create's context outlived its grace")
	}
	_, cancel2 := Graced(context.Background())
	cancel2() // ends one that was never cancelled: nothing leaks or panics
}

// Graced's grace is a timer: its context ends after the run's, never
// unbounded (a guard of a minute past CreateGrace, not a measure).
func TestGracedEnds(t *testing.T) {
	t.Parallel()
	run, stopRun := context.WithCancel(context.Background())
	ctx, cancel := Graced(run)
	defer cancel()
	stopRun()
	select {
	case <-ctx.Done():
	case <-time.After(CreateGrace + time.Minute):
		t.Fatal("hung: the create's context outlived the run's by far more than CreateGrace")
	}
}
