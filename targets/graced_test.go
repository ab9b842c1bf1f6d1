package targets

import (
	"context"
	"testing"
	"time"
)

// A graced create outlives its run's cancellation for CreateGrace, then
// ends: never before the run's cancellation, never unbounded.
func TestGracedOutlivesCancellationForAWhile(t *testing.T) {
	t.Parallel()
	run, stopRun := context.WithCancel(context.Background())
	ctx, cancel := Graced(run)
	defer cancel()
	stopRun()
	time.Sleep(50 * time.Millisecond) // AfterFunc has run by now
	if ctx.Err() != nil {
		t.Fatal("the create's context ended with the run's: a create under way would be given up on")
	}
	select {
	case <-ctx.Done():
	case <-time.After(CreateGrace + time.Minute):
		t.Fatal("the create's context outlived the run's by far more than CreateGrace")
	}
	_, cancel2 := Graced(context.Background())
	cancel2() // ends one that was never cancelled: nothing leaks or panics
}
