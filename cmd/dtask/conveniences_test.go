package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dtask-dev/dtask/internal/testfs"
)

// dtaskIn runs dtask (the test binary, as TestMain puts it on PATH) in dir.
func dtaskIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("dtask", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "CI=", "GITHUB_ACTIONS=", "GITLAB_CI=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCompletionBash: the bash script completes flags, flag values,
// environments and the task file's target names, through bash's own
// completion machinery (complete -F, COMP_WORDS, COMPREPLY).
func TestCompletionBash(t *testing.T) {
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), `version = 1
[environments.staging]
X = "1"
[targets.build-app]
sh = "true"
[targets.test]
sh = "true"
`)
	script := filepath.Join(t.TempDir(), "dtask.bash")
	out, err := dtaskIn(t, dir, "--completion", "bash")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	testfs.Write(t, script, out)
	for line, want := range map[string]string{
		"dtask --dry":      "--dry-run",
		"dtask --out":      "--output",
		"dtask --output g": "github gitlab",
		"dtask b":          "build-app",
		"dtask -n t":       "test",
		"dtask -e s":       "staging",
	} {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		cmd := exec.Command("bash", "--norc", "-c", `source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
fn=$(complete -p dtask | sed -E 's/.*-F ([^ ]+).*/\1/'); "$fn" dtask "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
echo "${COMPREPLY[*]}"`, "bash", script)
		cmd.Args = append(cmd.Args, words...)
		cmd.Dir = dir
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v: %s", line, err, got)
		}
		if strings.TrimSpace(string(got)) != want {
			t.Errorf("completing %q gave %q, want %q", line, strings.TrimSpace(string(got)), want)
		}
	}
	for _, sh := range []string{"zsh", "fish"} {
		out, err := dtaskIn(t, dir, "--completion", sh)
		if err != nil || !strings.Contains(out, "--complete targets") || !strings.Contains(out, "dry-run") {
			t.Errorf("--completion %s: %v\n%s", sh, err, out)
		}
	}
}

// TestInit: beside a Dockerfile and compose.yaml, --init writes a task
// file that dtask -n accepts, and never overwrites it.
func TestInit(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "Dockerfile"), "FROM busybox:latest\nCOPY . /app\n")
	testfs.Write(t, filepath.Join(dir, "compose.yaml"), "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n")
	if out, err := dtaskIn(t, dir, "--init"); err != nil {
		t.Fatalf("--init: %v\n%s", err, out)
	}
	body, err := os.ReadFile(filepath.Join(dir, "Taskfile.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// The compose file is read as it is (not copied out as [services]),
	// its services named where a target would list them; with no
	// .dockerignore the context's .git is pointed out.
	for _, want := range []string{"[targets.image]", "compose = \"compose.yaml\"", `services = ["cache", "db"]`,
		"line .git", "[targets.ci]"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("the starter file lacks %q:\n%s", want, body)
		}
	}
	out, err := dtaskIn(t, dir, "-n", "--output", "plain")
	if err != nil || !strings.Contains(out, "image") {
		t.Fatalf("dtask -n on the starter file: %v\n%s\n%s", err, out, body)
	}
	out, err = dtaskIn(t, dir, "--init")
	if err == nil || !strings.Contains(out, "never overwrites") {
		t.Fatalf("a second --init: %v\n%s", err, out)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "Taskfile.toml")); !bytes.Equal(again, body) {
		t.Fatal("a second --init changed the file")
	}
	// A Dockerfile that copies named paths only never reads .git, which
	// is then not in the build's key: nothing to point out.
	named := t.TempDir()
	testfs.Write(t, filepath.Join(named, "Dockerfile"), "FROM busybox:latest\nCOPY app.txt /app/\n")
	if out, err := dtaskIn(t, named, "--init"); err != nil {
		t.Fatalf("--init: %v\n%s", err, out)
	}
	if body, _ := os.ReadFile(filepath.Join(named, "Taskfile.toml")); bytes.Contains(body, []byte(".git")) {
		t.Errorf("the starter file for a Dockerfile that copies app.txt only points at .git:\n%s", body)
	}
}

// TestVersionNamesCommit: a dtask built from a clone prints the commit
// it was built from. (A clone: the Go toolchain stamps no commit in a git
// worktree, whose .git is a file.)
func TestVersionNamesCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("clones and builds dtask")
	}
	clone := cloneRepo(t)
	head, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dtask")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/dtask")
	build.Dir = clone
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "commit "+strings.TrimSpace(string(head))) {
		t.Fatalf("--version printed %q (%v), want the commit %s", out, err, head)
	}
}

// cloneRepo clones this repository's HEAD into a temporary folder.
func cloneRepo(t *testing.T) string {
	t.Helper()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "repo")
	if out, err := exec.Command("git", "clone", "-q", strings.TrimSpace(string(root)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return clone
}

// TestCITemplateSteps executes the shell steps of the GitHub template in
// a clone of this repository with a ci target: dtask is built from the
// checkout, put on the PATH the way GitHub does it, and runs ci.
func TestCITemplateSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("clones and builds dtask")
	}
	clone := cloneRepo(t)
	testfs.Write(t, filepath.Join(clone, "Taskfile.toml"), "version = 1\n[targets.ci]\nsh = \"echo ci-target-ran\"\n")
	cfg, err := dtaskIn(t, clone, "--ci-template", "github")
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Run  string            `yaml:"run"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &wf); err != nil {
		t.Fatalf("the template is not YAML: %v\n%s", err, cfg)
	}
	home := t.TempDir()
	ghPath := filepath.Join(t.TempDir(), "github_path")
	path := os.Getenv("PATH")
	// A fresh HOME, but the machine's Go caches: a CI runner's setup-go
	// restores them too, and a cold build of every dependency is not what
	// this test is about.
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	caches := strings.Fields(string(goenv))
	var ran []string
	for _, st := range wf.Jobs["dtask"].Steps {
		if st.Run == "" {
			continue
		}
		cmd := exec.CommandContext(context.Background(), "bash", "-eo", "pipefail", "-c", st.Run)
		cmd.Dir = clone
		// The clone's dtask, not the test binary, must answer.
		cmd.Env = append(os.Environ(), "HOME="+home, "GITHUB_PATH="+ghPath, "PATH="+githubPath(ghPath)+path, "CI=", "GITHUB_ACTIONS=",
			"GOCACHE="+caches[0], "GOMODCACHE="+caches[1], "GOPATH="+caches[2])
		for k, v := range st.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("step %q failed: %v\n%s", st.Name, err, out)
		}
		ran = append(ran, st.Name+": "+string(out))
	}
	all := strings.Join(ran, "\n")
	if !strings.Contains(all, "ci-target-ran") || !strings.Contains(all, "commit") {
		t.Fatalf("the steps did not build dtask and run ci:\n%s", all)
	}
}

// githubPath is what GitHub prepends to PATH for later steps.
func githubPath(file string) string {
	b, _ := os.ReadFile(file)
	var out string
	for _, l := range strings.Fields(string(b)) {
		out += l + string(os.PathListSeparator)
	}
	return out
}
