package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// TestPlainHoldsQuietResults: up-to-date lines are written together, before
// the next line that shows at once, and by Close; a target that ran shows
// at once.
func TestPlainHoldsQuietResults(t *testing.T) {
	var out syncBuffer
	d := newDisplay(ModePlain, &out, &Masker{}, testConfig(nil))
	d.Finish(&engine.Result{Target: "a", Status: engine.Cached, Reason: "up to date"})
	d.Finish(&engine.Result{Target: "b", Status: engine.Skipped, Reason: "off"})
	if got := out.String(); got != "" {
		t.Fatalf("quiet results written one by one: %q", got)
	}
	d.Start("c", "no previous run")
	want := "[a] cached (up to date)\n[b] skipped: off\n[c] running: no previous run\n"
	if got := out.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	d.Finish(&engine.Result{Target: "c", Status: engine.Ran})
	want += "[c] done in 0s\n"
	if got := out.String(); got != want {
		t.Fatalf("a result that ran is held: got %q, want %q", got, want)
	}
	d.Finish(&engine.Result{Target: "d", Status: engine.Cached, Reason: "up to date"})
	d.Close()
	if got := out.String(); got != want+"[d] cached (up to date)\n" {
		t.Fatalf("Close left lines held: %q", got)
	}
}

// TestPlainHeldLinesShowSoon: a held line is written even when nothing
// follows it (its timer, heldFor, flushes it; the test waits a minute
// before calling it lost, and measures nothing).
func TestPlainHeldLinesShowSoon(t *testing.T) {
	var out syncBuffer
	d := newDisplay(ModePlain, &out, &Masker{}, testConfig(nil))
	defer d.Close()
	d.Finish(&engine.Result{Target: "a", Status: engine.Cached, Reason: "up to date"})
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "[a] cached") {
		if time.Now().After(deadline) {
			t.Fatal("a held line never showed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPlainHeldLinesAreMasked: what is held is masked like what is not.
func TestPlainHeldLinesAreMasked(t *testing.T) {
	var out syncBuffer
	mask := &Masker{}
	mask.Add("hunter2")
	d := newDisplay(ModePlain, &out, mask, testConfig(nil))
	d.Finish(&engine.Result{Target: "a", Status: engine.Skipped, Reason: "pw hunter2"})
	d.Close()
	if got := out.String(); strings.Contains(got, "hunter2") || !strings.Contains(got, "***") {
		t.Errorf("held line not masked: %q", got)
	}
}
