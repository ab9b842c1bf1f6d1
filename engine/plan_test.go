package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testfs"
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

// Source labels name files relative to the task file's folder, whatever
// folder they were globbed from.
func TestFilesLabels(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.txt", "sub/b.txt", "other/c.txt", ".dtask/index"} {
		testfs.Write(t, filepath.Join(dir, f), f)
	}
	p := &Plan{
		File:     &taskfile.File{Dir: dir},
		key:      cache.NewKey("t"),
		index:    cache.OpenIndex(filepath.Join(t.TempDir(), "index")),
		stateDir: filepath.Join(dir, ".dtask"),
	}
	if err := p.Files(dir, []string{".dtask/index", "a.txt", "sub/b.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Files(filepath.Join(dir, "sub")+"/", []string{"b.txt", "../other/c.txt"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range p.key.Lines() {
		if strings.HasPrefix(l.Label, "src ") {
			got = append(got, l.Label)
		}
	}
	want := "src a.txt,src sub/b.txt,src sub/b.txt,src other/c.txt"
	if strings.Join(got, ",") != want {
		t.Errorf("labels %q, want %q", strings.Join(got, ","), want)
	}
}
