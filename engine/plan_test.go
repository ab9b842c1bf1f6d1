package engine

import (
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

func TestDefNamesChangedFieldsByTOMLKey(t *testing.T) {
	lines := func(b *taskfile.Build) []cache.Line {
		p := &Plan{key: cache.NewKey("img")}
		p.Def("build", b)
		return p.key.Lines()
	}
	old := lines(&taskfile.Build{Context: ".", Args: map[string]string{"A": "1"}})
	cur := lines(&taskfile.Build{Context: ".", Args: map[string]string{"A": "2"}, Target: "test"})
	for _, l := range cur {
		if strings.HasPrefix(l.Label, "def.build.") && l.Label != strings.ToLower(l.Label) {
			t.Errorf("label %q: want TOML key names", l.Label)
		}
	}
	got := strings.Join(cache.Diff(old, cur), "; ")
	if got != "definition changed: build.args, build.target added" {
		t.Errorf("Diff = %q", got)
	}
	// A zero field writes no line: adding a field to the model later must
	// not change existing keys.
	for _, l := range old {
		if l.Label == "def.build.platform" {
			t.Errorf("zero field platform has a line")
		}
	}
}
