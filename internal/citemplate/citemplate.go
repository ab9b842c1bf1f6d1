// Package citemplate writes a CI config that installs dtask, keeps its
// cache folder between runs and runs `dtask ci` (dtask --ci-template).
package citemplate

import (
	"fmt"
	"os"
	"os/exec"
	pathpkg "path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"text/template"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Options fill a CI template; paths are relative to the repository
// root, where CI jobs start, with forward slashes.
type Options struct {
	File  string // the task file
	Cache string // its cache folder (.dtask beside it unless cache_dir moves it)
	Run   string // the command line that runs dtask ci
	Pin   string // the dtask version the config installs
}

// Find locates the task file (path, or the one found from the working
// folder) and the repository root; notes say what the config assumes.
func Find(path string) (Options, []string) {
	var notes []string
	if path == "" {
		wd, _ := os.Getwd()
		if p, err := taskfile.Find(wd); err == nil {
			path = p
		}
	}
	if path == "" {
		notes = append(notes, "no task file found: the config assumes Taskfile.toml at the repository root")
		return config("Taskfile.toml", ".dtask", false), notes
	}
	dir := filepath.Dir(path)
	prefix := gitPrefix(dir)
	file := pathpkg.Join(prefix, filepath.Base(path))
	cache := pathpkg.Join(prefix, ".dtask")
	if f, err := taskfile.Load(path); err == nil {
		switch {
		case filepath.IsAbs(f.CacheDir):
			cache = filepath.ToSlash(f.CacheDir)
			notes = append(notes, fmt.Sprintf("cache_dir %s is outside the checkout: some CI caches (GitLab's) take only paths inside it", f.CacheDir))
		case f.CacheDir != "":
			cache = pathpkg.Join(prefix, filepath.ToSlash(f.CacheDir))
			if strings.HasPrefix(cache, "../") {
				notes = append(notes, fmt.Sprintf("cache_dir %s is outside the repository: some CI caches (GitLab's) take only paths inside it", f.CacheDir))
			}
		}
		if _, ok := f.Targets["ci"]; !ok {
			notes = append(notes, fmt.Sprintf("%s has no target named ci: add one (deps = the targets CI runs) or edit the command", filepath.Base(path)))
		}
	}
	base := filepath.Base(path)
	// dtask finds Taskfile.toml or dtask.toml in the folder it starts in;
	// any other name or folder needs -f.
	needF := prefix != "" || base != "Taskfile.toml" && base != "dtask.toml"
	return config(file, cache, needF), notes
}

// gitPrefix is dir relative to the root of its git repository ("" at the
// root, or outside any repository), with forward slashes.
func gitPrefix(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-prefix").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/")
}

// config makes the options. The run keeps all of dtask's cache in the
// one folder the config caches: without DTASK_CACHE_DIR the images,
// layers and cache volumes would go to the runner's user cache folder,
// which the config does not carry (GitLab caches only paths inside the
// checkout). The job starts at the repository root.
func config(file, cache string, needF bool) Options {
	dir := `"$PWD"/` + shQuote(cache)
	if pathpkg.IsAbs(cache) {
		dir = shQuote(cache)
	}
	run := "DTASK_CACHE_DIR=" + dir + " dtask"
	if needF {
		run += " -f " + shQuote(file)
	}
	return Options{File: file, Cache: cache, Run: run + " ci"}
}

// Render renders the config of provider.
func Render(provider string, o Options) (string, error) {
	text, ok := templates()[provider]
	if !ok {
		return "", fmt.Errorf("unknown CI provider %q: github, gitlab or circleci", provider)
	}
	t := template.Must(template.New(provider).Delims("<%", "%>").Funcs(template.FuncMap{
		"yaml": yamlQuote, "sq": func(s string) string { return strings.ReplaceAll(s, "'", "''") },
		"dq": strconv.Quote, "install": func() string { return installScript }, "indent": indent,
	}).Parse(text))
	var b strings.Builder
	if err := t.Execute(&b, o); err != nil {
		return "", err
	}
	return b.String(), nil
}

// installScript puts dtask in ~/.local/bin: built from the checkout in
// dtask's own repository, else the pinned DTASK_VERSION (a release or a
// commit), never an unpinned @latest.
const installScript = `if grep -qs '^module github.com/dtask-dev/dtask$' go.mod; then
  go build -o "$HOME/.local/bin/dtask" ./cmd/dtask
else
  GOBIN="$HOME/.local/bin" go install "github.com/dtask-dev/dtask/cmd/dtask@${DTASK_VERSION}"
fi
"$HOME/.local/bin/dtask" --version`

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// PinnedVersion is what a CI config installs: this dtask's module version,
// or the commit it was built from; "" when neither is known.
func PinnedVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; strings.HasPrefix(v, "v") {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

func safe(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._/-", r)) {
			return false
		}
	}
	return s != ""
}

// yamlQuote leaves plain paths bare and double-quotes anything else.
func yamlQuote(s string) string {
	if safe(s) {
		return s
	}
	return strconv.Quote(s)
}

func shQuote(s string) string {
	if safe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// templates are the configs by provider name.
func templates() map[string]string {
	return map[string]string{"github": githubTemplate, "gitlab": gitlabTemplate, "circleci": circleTemplate}
}

// GitHub: actions/cache keys are immutable, so the key ends with the run
// and a fresh cache is saved every run (even a failed one: images built
// before the failure are worth keeping); restore-keys take the newest
// cache for this task file, else any.
const githubTemplate = `# dtask: runs ` + "`<% .Run %>`" + ` with its image cache (<% .Cache %>) kept between runs.
# Made by ` + "`dtask --ci-template github`" + `; save as .github/workflows/dtask.yml.
name: dtask

on:
  push:
  pull_request:

jobs:
  dtask:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # tags and history, for VERSION (git describe)
      - uses: actions/setup-go@v5
        with:
          go-version: stable
          cache: false
      - name: Install dtask
        env:
          DTASK_VERSION: <% .Pin %>
        run: |
<% indent 10 install %>
          echo "$HOME/.local/bin" >> "$GITHUB_PATH"
      - name: Restore the dtask cache
        uses: actions/cache/restore@v4
        with:
          path: <% yaml .Cache %>
          key: dtask-${{ runner.os }}-${{ hashFiles('<% sq .File %>') }}-${{ github.run_id }}-${{ github.run_attempt }}
          restore-keys: |
            dtask-${{ runner.os }}-${{ hashFiles('<% sq .File %>') }}-
            dtask-${{ runner.os }}-
      - name: dtask ci
        run: <% .Run %>
      - name: Save the dtask cache
        if: always()
        uses: actions/cache/save@v4
        with:
          path: <% yaml .Cache %>
          key: dtask-${{ runner.os }}-${{ hashFiles('<% sq .File %>') }}-${{ github.run_id }}-${{ github.run_attempt }}
`

// GitLab: Docker from the docker:dind service (a privileged runner); the
// cache is keyed on the task file and saved even when the job fails; the
// JUnit report feeds the merge request's test view.
const gitlabTemplate = `# dtask: runs ` + "`<% .Run %>`" + ` with its image cache (<% .Cache %>) kept between pipelines.
# Made by ` + "`dtask --ci-template gitlab`" + `; add to .gitlab-ci.yml.
# Docker comes from the docker:dind service, which needs a privileged runner.
dtask:
  image: golang:latest
  services:
    - name: docker:dind
      alias: docker
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: ""
    GIT_DEPTH: "0" # tags and history, for VERSION (git describe)
    DTASK_VERSION: <% .Pin %>
  cache:
    key:
      files:
        - <% yaml .File %>
      prefix: dtask
    paths:
      - <% yaml .Cache %>
    when: always
  before_script:
    - |
<% indent 6 install %>
    - export PATH="$HOME/.local/bin:$PATH"
  script:
    - <% .Run %> --junit dtask-junit.xml
  artifacts:
    when: always
    reports:
      junit: dtask-junit.xml
`

// CircleCI: a machine executor, so that the Docker engine is local (bind
// mounts and layer caches work; a remote engine has neither); its Ubuntu
// image ships Go, and GOTOOLCHAIN=auto fetches the release dtask needs.
// Cache keys are immutable: each build saves under its build number and
// restores the newest for this task file and branch, then any.
const circleTemplate = `# dtask: runs ` + "`<% .Run %>`" + ` with its image cache (<% .Cache %>) kept between builds.
# Made by ` + "`dtask --ci-template circleci`" + `; save as .circleci/config.yml.
version: 2.1

jobs:
  dtask:
    machine:
      image: ubuntu-2404:current
    steps:
      - checkout
      - run:
          name: Install dtask
          environment:
            DTASK_VERSION: <% .Pin %>
          command: |
<% indent 12 install %>
            echo 'export PATH="$HOME/.local/bin:$PATH"' >> "$BASH_ENV"
      - restore_cache:
          keys:
            - dtask-v1-{{ checksum <% dq .File %> }}-{{ .Branch }}-
            - dtask-v1-{{ checksum <% dq .File %> }}-
            - dtask-v1-
      - run:
          name: dtask ci
          command: <% .Run %> --junit test-results/dtask/junit.xml
      - save_cache:
          when: always
          key: dtask-v1-{{ checksum <% dq .File %> }}-{{ .Branch }}-{{ .BuildNum }}
          paths:
            - <% yaml .Cache %>
      - store_test_results:
          path: test-results

workflows:
  dtask:
    jobs:
      - dtask
`
