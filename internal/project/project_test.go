package project

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine/cache"
)

func writeTaskfile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Taskfile.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadResolvesTheGoalsAndTheirState: the default goal, command-line
// variables, the state folder beside the task file, and a runner whose
// options come from Options.
func TestLoadResolvesTheGoalsAndTheirState(t *testing.T) {
	t.Setenv("DTASK_CACHE_DIR", "")
	path := writeTaskfile(t, "version = 1\ndefault = \"hello\"\n[targets.hello]\nsh = \"echo ${WHO}\"\n")
	p, err := Load(Options{File: path, Vars: map[string]string{"WHO": "you"}, Jobs: 3, DryRun: true}, &ui.Masker{})
	if err != nil {
		t.Fatal(err)
	}
	goals, err := p.Goals()
	if err != nil || !slices.Equal(goals, []string{"hello"}) {
		t.Fatalf("goals = %v, %v", goals, err)
	}
	if sh := p.File.Targets["hello"].Sh; !slices.Equal(sh, []string{"echo you"}) {
		t.Errorf("resolved sh = %q", sh)
	}
	if want := filepath.Join(filepath.Dir(path), ".dtask"); p.StateDir() != want {
		t.Errorf("state folder %s, want %s", p.StateDir(), want)
	}
	r, err := p.Runner(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Opts.Jobs != 3 || !r.Opts.DryRun || p.Env.LoadCachedBuilds("hello") {
		t.Errorf("runner options %+v; a dry run loads no cached build", r.Opts)
	}
}

// TestLoadRefusesAnUnknownGoalOrEnvironment with a usage error (exit 2).
func TestLoadRefusesAnUnknownGoalOrEnvironment(t *testing.T) {
	path := writeTaskfile(t, "version = 1\n[targets.hello]\nsh = \"true\"\n[environments.prod]\nX = \"1\"\n")
	_, err := Load(Options{File: path, Env: "staging"}, &ui.Masker{})
	var ue *UsageError
	if !errors.As(err, &ue) || ue.ExitCode() != 2 {
		t.Fatalf("unknown environment: %v, want a usage error", err)
	}
	p, err := Load(Options{File: path, Goals: []string{"helo"}}, &ui.Masker{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Goals(); !errors.As(err, &ue) {
		t.Fatalf("unknown goal: %v, want a usage error", err)
	}
}

// The decoded task file is kept in the state folder found before reading
// the file (.dtask beside it, or DTASK_CACHE_DIR), only once dtask made it.
func TestParsedCacheWhere(t *testing.T) {
	t.Setenv("DTASK_CACHE_DIR", "")
	path := writeTaskfile(t, "version = 1\n")
	if pc := parsedCache(path); pc != nil {
		t.Errorf("kept without a state folder: %s", pc.Path)
	}
	state := filepath.Join(filepath.Dir(path), ".dtask")
	os.Mkdir(state, 0o700)
	os.WriteFile(filepath.Join(state, cache.MarkName), nil, 0o600)
	pc := parsedCache(path)
	if pc == nil || filepath.Dir(pc.Path) != state || pc.Build == "" {
		t.Fatalf("beside the task file: %+v", pc)
	}
	moved := t.TempDir()
	t.Setenv("DTASK_CACHE_DIR", moved)
	if pc := parsedCache(path); pc != nil {
		t.Errorf("kept in an unmarked DTASK_CACHE_DIR: %s", pc.Path)
	}
	os.WriteFile(filepath.Join(moved, cache.MarkName), nil, 0o600)
	if pc := parsedCache(path); pc == nil || filepath.Dir(pc.Path) != moved {
		t.Errorf("DTASK_CACHE_DIR: %+v", pc)
	}
}
