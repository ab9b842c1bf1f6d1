package targets

import (
	"context"
	"testing"
	"time"
)

// The first to ask for a stage's save makes it; the others get what it
// saved. A save that failed is forgotten, so that the next to ask makes it.
func TestShareStageOncePerKey(t *testing.T) {
	e := &Env{}
	s, mine := e.ShareStage("k")
	if !mine {
		t.Fatal("the first to ask for k is not the one to save it")
	}
	other, mine := e.ShareStage("k")
	if mine || other != s {
		t.Fatalf("the second to ask for k: mine %v, same save %v; want false, true", mine, other == s)
	}
	if _, mine := e.ShareStage("k2"); !mine {
		t.Error("another key shares the save of k")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := other.Wait(ctx); err == nil {
		t.Error("Wait returned before Done")
	}
	s.Done("sha256:aa")
	if id, err := other.Wait(context.Background()); err != nil || id != "sha256:aa" {
		t.Errorf("Wait after Done: %q %v; want sha256:aa", id, err)
	}
	if _, mine := e.ShareStage("k"); mine {
		t.Error("a stage saved once is saved again by the next to ask")
	}

	f, _ := e.ShareStage("failing")
	late, _ := e.ShareStage("failing")
	f.Done("")
	if id, _ := late.Wait(context.Background()); id != "" {
		t.Errorf("a failed save gave %q; want \"\"", id)
	}
	if _, mine := e.ShareStage("failing"); !mine {
		t.Error("after a failed save the next to ask is not the one to save it")
	}
}
