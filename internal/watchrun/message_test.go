package watchrun

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/internal/project"
)

// A message printed between runs, with no display to mask it, is masked
// all the same.
func TestMessageBetweenRunsIsMasked(t *testing.T) {
	mask := &ui.Masker{}
	mask.Add("hunter2-but-longer")
	var stderr bytes.Buffer
	s := &session{p: &project.Project{Mask: mask}, stderr: &stderr}
	s.message("dtask: Taskfile.toml changed but cannot be used:\nbad value hunter2-but-longer")
	if got := stderr.String(); strings.Contains(got, "hunter2") || !strings.Contains(got, "bad value ***") {
		t.Errorf("stderr %q; want the secret masked as ***", got)
	}
}
