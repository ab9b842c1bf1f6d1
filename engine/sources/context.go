package sources

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/regularfile"
)

// Excludes is a build context's .dockerignore as the docker CLI applies it.
type Excludes struct {
	Patterns []string
	// IgnoreHidden and DockerfileHidden say .dockerignore excludes itself
	// or the Dockerfile: they are sent anyway (the builder reads them),
	// and re-included in Patterns.
	IgnoreHidden, DockerfileHidden bool
}

// ContextExcludes reads dir/.dockerignore and, as the CLI's
// TrimBuildFilesFromExcludes does, re-includes .dockerignore and the
// Dockerfile (dockerfile: its slash path in dir, unless outside). skip
// names folders (absolute) never sent whatever .dockerignore says: dtask's
// own state folder, whose records change with every run.
func ContextExcludes(dir, dockerfile string, outside bool, skip ...string) (Excludes, error) {
	var x Excludes
	f, err := regularfile.Open(filepath.Join(dir, ".dockerignore")) // not a FIFO: -n must not wait on it
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return x, fmt.Errorf("reading .dockerignore: %w", err)
	default:
		x.Patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return x, fmt.Errorf("reading .dockerignore: %w", err)
		}
	}
	// MatchesOrParentMatches says "excluded"; the CLI names its result keep.
	if x.IgnoreHidden, _ = patternmatcher.MatchesOrParentMatches(".dockerignore", x.Patterns); x.IgnoreHidden {
		x.Patterns = append(x.Patterns, "!.dockerignore")
	}
	if !outside {
		if x.DockerfileHidden, _ = patternmatcher.MatchesOrParentMatches(dockerfile, x.Patterns); x.DockerfileHidden {
			x.Patterns = append(x.Patterns, "!"+dockerfile)
		}
	}
	for _, sk := range skip {
		if r, err := filepath.Rel(dir, sk); err == nil && r != "." && !strings.HasPrefix(r, "..") {
			x.Patterns = append(x.Patterns, filepath.ToSlash(r))
		}
	}
	return x, nil
}

// buildSources: the files the context sends, as .dockerignore filters
// them, and the Dockerfile when it lives outside the context.
func buildSources(f *taskfile.File, t *taskfile.Target, stateDir string) (Set, error) {
	base := f.TargetDir(t)
	ctx := real(join(base, t.Build.Context))
	df := filepath.Join(ctx, "Dockerfile")
	if t.Build.Dockerfile != "" {
		df = real(join(base, t.Build.Dockerfile))
	}
	root := Root{Path: ctx}
	s := Set{root}
	name, err := filepath.Rel(ctx, df)
	outside := err != nil || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator))
	if outside {
		s = append(s, Root{Path: df})
	}
	x, err := ContextExcludes(ctx, filepath.ToSlash(name), outside, stateDir)
	if err != nil {
		return s, err // every file counts until .dockerignore reads again
	}
	pm, err := patternmatcher.New(x.Patterns)
	if err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(ctx, ".dockerignore"), err)
	}
	s[0].Exclude = func(rel string) bool {
		excluded, err := pm.MatchesOrParentMatches(filepath.FromSlash(rel))
		return err == nil && excluded
	}
	return s, nil
}

func join(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// real resolves symbolic links as the build does; a path that does not
// exist yet stays as it is.
func real(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}
