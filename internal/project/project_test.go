package project

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
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
