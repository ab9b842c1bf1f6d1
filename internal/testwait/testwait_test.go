package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilAndHolds(t *testing.T) {
	var n atomic.Int32
	if !Until(5*time.Second, func() bool { return n.Add(1) >= 3 }) {
		t.Fatal("Until gave up on a condition that comes true")
	}
	if Until(30*time.Millisecond, func() bool { return false }) {
		t.Error("Until said a false condition held")
	}
	if !Holds(30*time.Millisecond, func() bool { return true }) {
		t.Error("Holds said a true condition failed")
	}
	start := time.Now()
	if Holds(5*time.Second, func() bool { return false }) {
		t.Error("Holds said a false condition held")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Holds took %v to see a false condition, want at once", took)
	}
}
