package sources

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testfs"
)

func relevant(t *testing.T, s Set, dir string, want map[string]bool) {
	t.Helper()
	for rel, w := range want {
		if got := s.Relevant(filepath.Join(dir, filepath.FromSlash(rel))); got != w {
			t.Errorf("Relevant(%s) = %v, want %v", rel, got, w)
		}
	}
}

func TestShSources(t *testing.T) {
	dir := t.TempDir()
	f := &taskfile.File{Dir: dir}
	tg := &taskfile.Target{Name: "lint", Dir: "web", Sh: taskfile.StringList{"true"},
		Sources: []string{"src/**/*.js", "package.json", "lib", "!src/gen/**"}}
	s, err := Of(f, tg, "")
	if err != nil {
		t.Fatal(err)
	}
	relevant(t, s, filepath.Join(dir, "web"), map[string]bool{
		"src/a.js": true, "src/x/y/b.js": true, "src/a.ts": false,
		"package.json": true, "lib/any/thing.txt": true, "src/gen/c.js": false,
		"other/a.js": false, "log.txt": false,
	})
	if s.Relevant(filepath.Join(dir, "src/a.js")) {
		t.Error("sources are relative to the target's dir, not the task file's")
	}
	want := []string{filepath.Join(dir, "web/lib"), filepath.Join(dir, "web/package.json"), filepath.Join(dir, "web/src")}
	if got := s.Watch(); !slices.Equal(got, want) {
		t.Errorf("Watch = %v, want %v", got, want)
	}
	if s, _ := Of(f, &taskfile.Target{Sh: taskfile.StringList{"true"}}, ""); len(s) != 0 {
		t.Errorf("an sh target without sources reads %v", s)
	}
}

func TestBuildSources(t *testing.T) {
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, ".dockerignore"), "*.log\nbuild/\n!build/keep\nDockerfile\n")
	testfs.Write(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n")
	f := &taskfile.File{Dir: dir}
	state := filepath.Join(dir, ".state")
	s, err := Of(f, &taskfile.Target{Build: &taskfile.Build{Context: "."}}, state)
	if err != nil {
		t.Fatal(err)
	}
	relevant(t, s, dir, map[string]bool{
		"a.go": true, "deep/er/a.go": true, "a.log": false, "sub/a.log": true,
		"build/out": false, "build/keep": true, "Dockerfile": true,
		".dockerignore": true, ".state/records/x": false,
	})
	if got := s.Watch(); !slices.Equal(got, []string{dir}) {
		t.Errorf("Watch = %v, want the context folder", got)
	}
	// A Dockerfile outside the context is a source of its own.
	testfs.Write(t, filepath.Join(dir, "docker/app.Dockerfile"), "FROM scratch\n")
	s, err = Of(f, &taskfile.Target{Build: &taskfile.Build{Context: "app", Dockerfile: "docker/app.Dockerfile"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	relevant(t, s, dir, map[string]bool{"app/x": true, "docker/app.Dockerfile": true, "docker/other": false})
}

func TestRunSources(t *testing.T) {
	dir := t.TempDir()
	f := &taskfile.File{Dir: dir, Services: map[string]*taskfile.Service{
		"db": {Volumes: []string{"./seed:/seed:ro", "dbdata:/var/lib/db"}},
	}}
	tg := &taskfile.Target{Dir: "svc", Services: []string{"db"},
		Run: &taskfile.Run{Volumes: []string{"./src:/src", "cache:/cache", "/etc/hosts:/h:ro"}}}
	s, err := Of(f, tg, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "svc/src"), "/etc/hosts", filepath.Join(dir, "seed")}
	if got := s.Watch(); !slices.Equal(got, want) {
		t.Errorf("Watch = %v, want %v (named volumes are no files; service volumes are relative to the task file)", got, want)
	}
	relevant(t, s, dir, map[string]bool{"svc/src/a/b/c": true, "seed/x.sql": true, "svc/other": false})
	if _, err := Of(f, &taskfile.Target{Name: "bad", Run: &taskfile.Run{Volumes: []string{"nocolon"}}}, ""); err == nil {
		t.Error("a bad volume is no error")
	}
}

func TestClosure(t *testing.T) {
	dir := t.TempDir()
	f := &taskfile.File{Dir: dir, Targets: map[string]*taskfile.Target{
		"gen":  {Name: "gen", Sh: taskfile.StringList{"true"}, Sources: []string{"gen/**"}},
		"test": {Name: "test", Deps: []string{"gen"}, Sh: taskfile.StringList{"true"}, Sources: []string{"src/**"}},
	}}
	s, err := Closure(f, []string{"test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	relevant(t, s, dir, map[string]bool{"gen/a": true, "src/b/c": true, "docs/x": false})
}

// A pattern the loader would have refused never reaches a run; were one
// to, watch mode must follow too much rather than too little.
func TestShSourcesBadPatternFollowsEverything(t *testing.T) {
	dir := t.TempDir()
	f := &taskfile.File{Dir: dir}
	tg := &taskfile.Target{Name: "bad", Sh: taskfile.StringList{"true"}, Sources: []string{"src/[", "a.txt"}}
	s, err := Of(f, tg, "")
	if err != nil {
		t.Fatal(err)
	}
	relevant(t, s, dir, map[string]bool{"src/x.go": true, "other/y": true})
	if got, want := s.Watch(), []string{dir}; !slices.Equal(got, want) {
		t.Errorf("Watch = %v, want %v", got, want)
	}
}
