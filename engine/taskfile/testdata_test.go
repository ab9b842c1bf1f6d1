package taskfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The bad task files under testdata are shared with the CLI's tests; these
// are the exact errors each one yields.
var testdataErrors = map[string]string{
	"bad-duration.toml":    `testdata/bad-duration.toml:5:23: bad duration "60" in services.db.ready.timeout: missing unit (write e.g. "90s", "1m30s" or "500ms")`,
	"cycle.toml":           `testdata/cycle.toml:4:9: dependency cycle: a -> b -> c -> a`,
	"missing-version.toml": `testdata/missing-version.toml:1:1: version is required; add version = 1 at the top`,
	"syntax.toml":          `testdata/syntax.toml:4:24: strings cannot contain newlines`,
	"two-actions.toml":     `testdata/two-actions.toml:5:1: target "x" has both sh and build; a target has at most one action`,
	"unknown-dep.toml":     `testdata/unknown-dep.toml:7:9: target "test" depends on unknown target "imgae" (did you mean "image"?)`,
	"unknown-key.toml":     `testdata/unknown-key.toml:4:9: unknown key "imag" in targets.test.run (did you mean "image"?)`,
	"unknown-service.toml": `testdata/unknown-service.toml:7:13: target "test" uses unknown service "dbb" (did you mean "db"?)`,
	"version.toml":         `testdata/version.toml:1:1: task file version 2 is newer than this dtask supports (1)`,
	"many-errors.toml": `testdata/many-errors.toml:2:1: default target "tset" is not defined (did you mean "test"?)
testdata/many-errors.toml:6:9: target "test" depends on unknown target "lnt" (did you mean "lint"?)
testdata/many-errors.toml:6:16: dependency cycle: test -> test
testdata/many-errors.toml:7:1: bad duration "5 minutes" in targets.test.timeout: unknown unit (write e.g. "90s", "1m30s" or "500ms")
testdata/many-errors.toml:8:10: targets.test.when.branch must be a list of strings, not a string
testdata/many-errors.toml:11:17: targets.lint.sh[1] must be a string, not an integer
testdata/many-errors.toml:12:1: unknown key "buidl" in targets.lint (did you mean "build"?)
testdata/many-errors.toml:14:11: service "db" has neither image nor build
testdata/many-errors.toml:15:11: services.db.ready.tcp must be a port between 1 and 65535, not 70000`,
	// Loads; the error comes from Resolve, when GREETING is not set.
	"undefined-var.toml": `testdata/undefined-var.toml:4:1: targets.hello.sh: undefined variable GREETING`,
	"spec-example.toml":  ``,
}

func TestTestdataFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.toml")
	if len(files) != len(testdataErrors) {
		t.Errorf("%d files under testdata, %d expected: list each new one here", len(files), len(testdataErrors))
	}
	for _, p := range files {
		want, ok := testdataErrors[filepath.Base(p)]
		if !ok {
			t.Errorf("%s: no expected errors listed", p)
			continue
		}
		f, err := Load(p)
		if err == nil {
			_, err = Resolve(f, &fakeEnv{vars: map[string]string{
				"IMAGE": "i", "REGISTRY": "r", "APP": "a", "GIT_BRANCH": "b", "GIT_SHORT_SHA": "s", "DEPLOY_HOST": "h",
			}})
		}
		got := ""
		if err != nil {
			got = err.Error()
			var coder interface{ ExitCode() int }
			if !errors.As(err, &coder) || coder.ExitCode() != 2 {
				t.Errorf("%s: no exit code 2", p)
			}
		}
		if got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", p, got, want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("version = 1\n[targets.a]\nrun = { image = \"${X}\", cmd = [\"a\", \"$$\"] }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.toml", data)
		if err != nil {
			var es Errors
			if file != nil || !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("bad error result: %v %v", file, err)
			}
			for _, e := range es {
				if e.Msg == "" || e.Line < 0 || e.Col < 0 || e.File != "f.toml" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		// A file that passed validation has a graph that can be ordered.
		if _, err := file.Closure(file.TargetNames()); err != nil {
			t.Fatalf("valid file, but Closure fails: %v", err)
		}
		r, err := Resolve(file, &fakeEnv{vars: map[string]string{"X": "x"}})
		if err != nil && !strings.Contains(err.Error(), "f.toml") {
			t.Fatalf("Resolve error without the file: %v", err)
		}
		if err == nil && len(r.Targets) != len(file.Targets) {
			t.Fatal("Resolve lost targets")
		}
	})
}
