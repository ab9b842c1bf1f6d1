package citemplate

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var updateCI = flag.Bool("update", false, "rewrite the golden CI templates in testdata")

// TestCITemplates compares each template with its golden file, checks the
// lines that make it work, and parses it as YAML where PyYAML is at hand.
func TestCITemplates(t *testing.T) {
	for _, tc := range []struct {
		name, provider string
		o              Options
	}{
		{"github", "github", config("Taskfile.toml", ".dtask", false)},
		{"gitlab", "gitlab", config("Taskfile.toml", ".dtask", false)},
		{"circleci", "circleci", config("Taskfile.toml", ".dtask", false)},
		{"github_subdir", "github", config("app/dtask.toml", "app/.dtask", true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Pin = "v1.2.3"
			got, err := Render(tc.provider, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".yml")
			if *updateCI {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestCITemplates -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("differs from %s:\n%s", path, got)
			}
			checkLines(t, tc.provider, tc.o, got)
			checkYAML(t, got)
		})
	}
	if _, err := Render("jenkins", Options{}); err == nil {
		t.Error("an unknown provider should be an error")
	}
}

// checkLines asserts the lines each provider needs: dtask installed, the
// cache restored and saved under a key over the task file, dtask ci run.
func checkLines(t *testing.T, provider string, o Options, got string) {
	t.Helper()
	want := []string{`go install "github.com/dtask-dev/dtask/cmd/dtask@${DTASK_VERSION}"`, "go build -o \"$HOME/.local/bin/dtask\" ./cmd/dtask", o.Run}
	switch provider {
	case "github":
		want = append(want, "uses: actions/setup-go@", "uses: actions/cache/restore@", "uses: actions/cache/save@",
			"path: "+o.Cache, "hashFiles('"+o.File+"')", "restore-keys: |", "${{ github.run_id }}", "if: always()")
	case "gitlab":
		want = append(want, "image: golang:", "docker:dind", "paths:\n      - "+o.Cache, "files:\n        - "+o.File,
			"when: always", "junit: dtask-junit.xml", o.Run+" --junit dtask-junit.xml")
	case "circleci":
		want = append(want, "version: 2.1", "machine:", "restore_cache:", "save_cache:", `{{ checksum "`+o.File+`" }}`,
			"- dtask-v1-\n", "paths:\n            - "+o.Cache, "store_test_results:")
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s template lacks %q", provider, w)
		}
	}
	for i, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "\t") || strings.TrimRight(l, " ") != l {
			t.Errorf("line %d has a tab or trailing space: %q", i+1, l)
		}
	}
}

// checkYAML parses the template with PyYAML when python3 has it; the
// golden files and line checks above stand without it.
func checkYAML(t *testing.T, doc string) {
	t.Helper()
	if exec.Command("python3", "-c", "import yaml").Run() != nil {
		t.Log("python3 with PyYAML not available: YAML parse not checked")
		return
	}
	cmd := exec.Command("python3", "-c", "import sys, yaml; d = yaml.safe_load(sys.stdin); assert isinstance(d, dict), type(d)")
	cmd.Stdin = strings.NewReader(doc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("not valid YAML: %v\n%s", err, out)
	}
}

// TestCIOptions finds a task file in a repository's subfolder: its path
// from the root, -f to name it, and its cache_dir.
func TestCIOptions(t *testing.T) {
	root := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", root).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(root, "svc"), 0o755)
	file := filepath.Join(root, "svc", "Taskfile.toml")
	os.WriteFile(file, []byte("version = 1\ncache_dir = \"cache\"\n[targets.ci]\nsh = \"true\"\n"), 0o644)
	o, notes := Find(file)
	want := Options{File: "svc/Taskfile.toml", Cache: "svc/cache", Run: `DTASK_CACHE_DIR="$PWD"/svc/cache dtask -f svc/Taskfile.toml ci`}
	if o != want || len(notes) != 0 {
		t.Errorf("got %+v %q, want %+v and no notes", o, notes, want)
	}
	os.WriteFile(filepath.Join(root, "Taskfile.toml"), []byte("version = 1\n[targets.build]\nsh = \"true\"\n"), 0o644)
	o, notes = Find(filepath.Join(root, "Taskfile.toml"))
	if o.Run != `DTASK_CACHE_DIR="$PWD"/.dtask dtask ci` || o.Cache != ".dtask" || len(notes) != 1 || !strings.Contains(notes[0], "no target named ci") {
		t.Errorf("root task file without ci: %+v %q", o, notes)
	}
}
