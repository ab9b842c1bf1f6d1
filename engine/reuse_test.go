package engine

import (
	"context"
	"slices"
	"testing"
)

// Following events (Changed known), a target no changed file feeds keeps
// its previous result without being planned: here its definition changes
// behind the runner's back and it is still cached. With Changed unknown
// (events lost, the task file reloaded) every target is planned again.
func TestReuseNeedsKnownChanges(t *testing.T) {
	f := graph(t, "a", "b", "all: a b")
	w := newWorld()
	r := newRunner(t, f, w)
	ctx := context.Background()
	first, err := r.Run(ctx, []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	prev := map[string]*Result{}
	for _, res := range first {
		prev[res.Target] = res
	}
	w.def["a"] = "changed without an event"
	r.Previous, r.Changed = prev, []string{}
	second, err := r.Run(ctx, []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(second); got["a"] != "cached" || got["all"] != "cached" {
		t.Fatalf("with known changes naming nothing: %v, want a and all cached", got)
	}
	if n := len(w.ranList()); n != 3 {
		t.Fatalf("ran %v after the first run", w.ranList())
	}
	r.Changed = nil
	third, err := r.Run(ctx, []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(third); got["a"] != "ran" || got["b"] != "cached" {
		t.Fatalf("with changes unknown: %v, want a ran (planned again), b cached", got)
	}
	if !slices.Contains(w.ranList()[3:], "a") {
		t.Fatalf("a did not run again: %v", w.ranList())
	}
}
