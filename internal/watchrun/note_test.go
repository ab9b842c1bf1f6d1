package watchrun

import (
	"slices"
	"testing"

	"github.com/dtask-dev/dtask/internal/watch"
)

// Changes since the last completed run add up across stopped runs; lost
// events or a reloaded task file make them unknown (nil), so that the
// next run plans every target instead of keeping any previous result.
func TestNoteFallsBackOnLostEventsAndReload(t *testing.T) {
	s := &session{since: []string{}}
	s.note([]string{"/p/a", "/p/b"}, []string{"/p/a"}, false)
	s.note([]string{"/p/c"}, []string{"/p/c"}, false)
	if !slices.Equal(s.since, []string{"/p/a", "/p/c"}) {
		t.Fatalf("since = %q, want the changed files of both batches", s.since)
	}
	s.note([]string{"/p/d", watch.Lost}, []string{"/p/d"}, false)
	if s.since != nil {
		t.Fatalf("after lost events since = %q, want nil (unknown)", s.since)
	}
	s.note([]string{"/p/e"}, []string{"/p/e"}, false)
	if s.since != nil {
		t.Fatal("a batch after lost events made the changes known again before a run completed")
	}
	s.since = []string{}
	s.note([]string{"/p/Taskfile.toml"}, []string{"/p/Taskfile.toml"}, true)
	if s.since != nil {
		t.Fatalf("after a reload since = %q, want nil", s.since)
	}
}
