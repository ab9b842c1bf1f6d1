// Package testwait is how tests wait: on a condition, with a deadline,
// never a sleep and then an assertion (a sleep is too short on a loaded
// machine and too long everywhere else).
package testwait

import (
	"testing"
	"time"
)

// interval is how often a condition is asked again.
const interval = 10 * time.Millisecond

// Until asks cond until it holds or timeout passes, and says whether it held.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}

// For fails t when cond does not hold within timeout; what says what was
// waited for.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Holds asks cond for d and says whether it held every time: for what must
// not happen (one more run after a change), which has no event to wait on.
// It returns false as soon as cond fails.
func Holds(d time.Duration, cond func() bool) bool {
	return !Until(d, func() bool { return !cond() })
}
