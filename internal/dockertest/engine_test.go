package dockertest

import (
	"errors"
	"testing"
)

// TestCheckNeverSkipsInCI: without an engine, Check says skip locally and
// fail under CI=true.
func TestCheckNeverSkipsInCI(t *testing.T) {
	e := &Engine{}
	e.once.Do(func() { e.err = errors.New("no engine") })
	t.Setenv("CI", "")
	if run, err := e.Check(); run || err != nil {
		t.Errorf("locally: run=%v err=%v, want a skip", run, err)
	}
	t.Setenv("CI", "true")
	if run, err := e.Check(); run || err == nil {
		t.Errorf("CI=true: run=%v err=%v, want an error", run, err)
	}
}
