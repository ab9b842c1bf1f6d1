package buildctx

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
)

// walk lists what go-archive's TarWithOptions (the CLI's context tar) would
// send for excludes: the same walk order, the same parent-match
// bookkeeping, and the same rule that an excluded folder is still entered
// when an exception pattern (!dir/file) lies beneath it — though the folder
// itself is then not sent.
func walk(root string, excludes []string) ([]Entry, error) {
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	var (
		out        []Entry
		parentDirs []string
		parentInfo []patternmatcher.MatchInfo
	)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("build context: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		for len(parentDirs) > 0 && !strings.HasPrefix(rel, parentDirs[len(parentDirs)-1]+string(filepath.Separator)) {
			parentDirs = parentDirs[:len(parentDirs)-1]
			parentInfo = parentInfo[:len(parentInfo)-1]
		}
		var parent patternmatcher.MatchInfo
		if len(parentInfo) > 0 {
			parent = parentInfo[len(parentInfo)-1]
		}
		skip, info, err := pm.MatchesUsingParentResults(rel, parent)
		if err != nil {
			return fmt.Errorf(".dockerignore: matching %s: %w", rel, err)
		}
		if d.IsDir() {
			parentDirs = append(parentDirs, rel)
			parentInfo = append(parentInfo, info)
		}
		if skip {
			if !d.IsDir() {
				return nil
			}
			if exceptionBelow(pm, rel) {
				return nil
			}
			return filepath.SkipDir
		}
		e, err := entry(p, rel, d)
		out = append(out, e)
		return err
	})
	return out, err
}

// entry is the context entry for the file at p (rel to the context).
func entry(p, rel string, d fs.DirEntry) (Entry, error) {
	fi, err := d.Info()
	if err != nil {
		return Entry{}, fmt.Errorf("build context: %w", err)
	}
	e := Entry{Path: filepath.ToSlash(rel), Mode: fi.Mode(), Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if e.Link, err = os.Readlink(p); err != nil {
			return Entry{}, fmt.Errorf("build context: %w", err)
		}
	}
	return e, nil
}

// exceptionBelow reports whether an exception pattern starts with dir/, the
// CLI's (textual) test for "this excluded folder may hold re-included files".
func exceptionBelow(pm *patternmatcher.PatternMatcher, dir string) bool {
	if !pm.Exclusions() {
		return false
	}
	prefix := dir + string(filepath.Separator)
	for _, pat := range pm.Patterns() {
		if pat.Exclusion() && strings.HasPrefix(pat.String()+string(filepath.Separator), prefix) {
			return true
		}
	}
	return false
}
