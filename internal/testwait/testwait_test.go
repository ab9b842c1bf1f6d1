package testwait

import (
	"testing"
	"time"
)

// Until asks until the condition holds and no more; Holds stops at the
// first answer that fails it. Counted in asks, not measured in time: a
// Holds that went on asking for its whole period would ask more than once.
func TestUntilAndHolds(t *testing.T) {
	asks := 0
	if !Until(time.Minute, func() bool { asks++; return asks >= 3 }) {
		t.Fatal("Until gave up on a condition that comes true")
	}
	if asks != 3 {
		t.Errorf("Until asked %d times for a condition true at the third, want 3", asks)
	}
	if Until(30*time.Millisecond, func() bool { return false }) {
		t.Error("Until said a false condition held")
	}
	if !Holds(30*time.Millisecond, func() bool { return true }) {
		t.Error("Holds said a true condition failed")
	}
	asks = 0
	if Holds(time.Minute, func() bool { asks++; return false }) {
		t.Error("Holds said a false condition held")
	}
	if asks != 1 {
		t.Errorf("Holds asked %d times after the first answer failed it, want once", asks)
	}
}
