package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/internal/regularfile"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/dockerfile"
)

// initTaskfile writes a commented starter task file (-f names it; default
// Taskfile.toml here) from what its folder holds. It never overwrites.
func initTaskfile(c *cli, stdout io.Writer) error {
	path := c.File
	if path == "" {
		path = "Taskfile.toml"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	for _, existing := range []string{abs, filepath.Join(dir, "Taskfile.toml"), filepath.Join(dir, "dtask.toml")} {
		if _, err := os.Stat(existing); err == nil {
			return &usageError{msg: fmt.Sprintf("--init: %s exists; dtask --init never overwrites a task file", existing)}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	body := starter(dir, func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	})
	// O_EXCL: a file made meanwhile is not overwritten either.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: see what it would do with `dtask -n`\n", path)
	return nil
}

// starter is the task file for a folder whose files exist says.
func starter(dir string, exists func(string) bool) string {
	var b strings.Builder
	var targets []string
	app := strings.ToLower(filepath.Base(dir))
	fmt.Fprintf(&b, "# dtask task file, made by `dtask --init`. Every key: docs/taskfile.md in dtask's\n")
	fmt.Fprintf(&b, "# repository. `dtask -l` lists the targets, `dtask -n` says what would run and why.\n")
	b.WriteString("version = 1\ndefault = \"ci\"\n")
	// compose is a top-level key: it must come before the first table.
	cf := composeFile(exists)
	if cf != "" {
		b.WriteString(composeSection(dir, cf))
	}
	b.WriteString("\n[vars]\n")
	fmt.Fprintf(&b, "APP   = %q\n", app)
	b.WriteString("IMAGE = \"${APP}:${GIT_SHORT_SHA:-dev}\"   # ${NAME:-default} as in sh\n")
	for _, s := range starterSections() {
		if s.file == "" || exists(s.file) {
			b.WriteString("\n" + s.text)
			if s.target != "" {
				targets = append(targets, fmt.Sprintf("%q", s.target))
			}
		}
	}
	if exists("Dockerfile") && !exists(".dockerignore") && copiesGit(dir) {
		b.WriteString("\n" + dockerignoreHint)
	}
	if cf != "" {
		b.WriteString("\n" + composeTestHint(dir, cf, exists("Dockerfile")))
	}
	if len(targets) == 0 {
		b.WriteString("\n[targets.hello]\ndesc = \"A first target: replace it\"\nsh   = \"echo hello from dtask\"\n")
		targets = append(targets, `"hello"`)
	}
	fmt.Fprintf(&b, "\n[targets.ci]\ndesc = \"What CI runs: `dtask ci`\"\ndeps = [%s]\n", strings.Join(targets, ", "))
	return b.String()
}

// dockerignoreHint: without a .dockerignore a COPY of the whole context
// copies .git, and git rewrites files there even when nothing is committed.
const dockerignoreHint = `# No .dockerignore, and the Dockerfile copies the whole context: .git too, so
# whatever git writes there (a commit, a fetch, even the index that ` + "`git status`" + `
# refreshes) changes the image and the build's key, and it runs again, with every
# target that uses its image. Unless a step needs it, keep it out with a
# .dockerignore holding the line .git
`

// copiesGit says the Dockerfile in dir has a step that may read .git
// (COPY . .), or cannot be read: then the build's key holds .git.
func copiesGit(dir string) bool {
	src, err := regularfile.Read(filepath.Join(dir, "Dockerfile"), buildctx.MaxDockerfile)
	return err != nil || dockerfile.MayRead(src, ".git")
}

// starterSection is what a file found suggests: a target (named target,
// to run from ci) or a hint.
type starterSection struct{ file, target, text string }

// starterSections are the suggestions, in the order they are written.
func starterSections() []starterSection {
	return []starterSection{
		{"Dockerfile", "image", `# Dockerfile found: build it. The key hashes exactly what the context sends
# (after .dockerignore), so the build is skipped when nothing it reads changed.
[targets.image]
desc  = "Build the image"
build = { context = ".", dockerfile = "Dockerfile", tags = ["${IMAGE}"] }
`},
		{"go.mod", "go-test", `# go.mod found: the Go tests on the host, re-run only when a Go file changes.
[targets.go-test]
desc    = "Go tests"
sh      = "go test ./..."
sources = ["**/*.go", "go.mod", "go.sum"]
`},
		{"package.json", "npm-test", `# package.json found: the npm tests.
[targets.npm-test]
desc    = "npm tests"
sh      = ["npm ci", "npm test"]
sources = ["package.json", "package-lock.json", "src/**", "test/**"]
`},
		{"Makefile", "make", `# Makefile found: its default goal as a host command. Without sources it
# runs every time; list the files it reads to let dtask skip it.
[targets.make]
desc = "make"
sh   = "make"
`},
	}
}
