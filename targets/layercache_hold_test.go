package targets

import "testing"

// Two build targets of one Dockerfile save a stage they share, built to
// the same image ID: only the save that ends last may remove it.
func TestHeldImageIsRemovedByTheLastSave(t *testing.T) {
	e := &Env{}
	e.HoldImage("sha256:stage")
	e.HoldImage("sha256:stage")
	e.HoldImage("sha256:other")
	if e.ReleaseImage("sha256:stage") {
		t.Error("the first save to end may remove the stage the other still pushes")
	}
	if !e.ReleaseImage("sha256:stage") {
		t.Error("the last save to end does not remove the stage")
	}
	if !e.ReleaseImage("sha256:other") {
		t.Error("a save alone does not remove its image")
	}
	e.HoldImage("sha256:stage") // held again later: counted afresh
	if !e.ReleaseImage("sha256:stage") {
		t.Error("a stage held again after its removal is not removed")
	}
}
