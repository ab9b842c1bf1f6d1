package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// TestRunTargetKeyFollowsBindMountsThroughTheEngine runs a run target through
// the engine twice (cached the second time) and again after the content of
// a bind-mounted host folder changed.
func TestRunTargetKeyFollowsBindMountsThroughTheEngine(t *testing.T) {
	e := busyboxEnv(t)
	data := filepath.Join(e.File.Dir, "data")
	os.MkdirAll(data, 0o777)
	os.WriteFile(filepath.Join(data, "f.txt"), []byte("one\n"), 0o666)
	e.File.Targets["show"] = &taskfile.Target{Name: "show", Run: &taskfile.Run{
		Image: "busybox:latest", Cmd: []string{"cat", "/data/f.txt"}, Volumes: []string{"./data:/data:ro"},
	}}
	store, err := cache.OpenStore(filepath.Join(e.File.Dir, ".dtask"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() (engine.Status, string) {
		t.Helper()
		rep := targettest.NewReporter()
		r := &engine.Runner{File: e.File, Store: store, Index: cache.OpenIndex(store.IndexPath()),
			Actions: e.Action, Reporter: rep, Opts: engine.Options{Jobs: 1}}
		if _, err := r.Run(context.Background(), []string{"show"}); err != nil {
			t.Fatalf("%v\n%s", err, rep.Out.String())
		}
		return rep.Status("show"), rep.Out.String()
	}
	if st, out := run(); st != engine.Ran || out != "one\n" {
		t.Fatalf("first run: %v %q", st, out)
	}
	if st, _ := run(); st != engine.Cached {
		t.Errorf("second run: %v, want cached", st)
	}
	os.WriteFile(filepath.Join(data, "f.txt"), []byte("two\n"), 0o666)
	if st, out := run(); st != engine.Ran || out != "two\n" {
		t.Errorf("after changing the mounted file: %v %q", st, out)
	}
}
