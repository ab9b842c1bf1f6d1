package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MarkName is the file that makes a folder dtask's state folder. dtask
// writes, prunes and clears only in a folder that carries it, so that a
// cache_dir naming the project root (or a home folder) can never cost the
// user a file. It follows the Cache Directory Tagging convention, so that
// backup tools skip the (large) image cache too.
const MarkName = "CACHEDIR.TAG"

// markSignature is the convention's first line.
const markSignature = "Signature: 8a477f597d28d172789f06886806bc55\n"

const markText = markSignature +
	"# This folder is dtask's state: records, the stat index, the image cache.\n" +
	"# dtask deletes files only in folders that carry this file.\n"

// ErrNotStateDir means a folder holds files dtask did not make.
var ErrNotStateDir = errors.New("holds files dtask did not make")

// stateNames are the entries an older dtask left in its state folder
// before folders were marked: such a folder is adopted, nothing else is.
var stateNames = []string{
	"records", "last", "index", "lock", "locks", "images", ".gitignore", MarkName,
	"chunks", "secret.key", "index.log", "layout", "sets", "taskfile",
}

func stateName(name string) bool { return slices.Contains(stateNames, name) }

// Marked reports whether dir carries dtask's mark.
func Marked(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, MarkName))
	return err == nil && bytes.HasPrefix(b, []byte(markSignature)) && bytes.Contains(b, []byte("dtask"))
}

// claim makes dir dtask's state folder: a missing or empty folder is
// created and marked, a marked one is used as it is, an unmarked one that
// holds only what dtask makes is marked; any other folder is refused
// before anything is written into it.
func claim(dir string) error {
	if Marked(dir) {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	for _, e := range entries {
		if !stateName(e.Name()) && !stateTemp(e.Name()) {
			return fmt.Errorf("%w (found %q); give dtask a folder of its own (a new or empty one)", ErrNotStateDir, e.Name())
		}
	}
	// Whole or not at all: a second dtask starting on the same new folder
	// meanwhile must never read a mark half written, take the folder for
	// someone else's and refuse it.
	if err := writeAtomic(filepath.Join(dir, MarkName), []byte(markText)); err != nil {
		return err
	}
	// Keep the state out of git without asking the user to.
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		os.WriteFile(ignore, []byte("*\n"), fileMode)
	}
	return nil
}

// stateTemp says whether name is a temporary file of an atomic write of
// one of stateNames (".index.tmp123"), left by a killed dtask.
func stateTemp(name string) bool {
	base, _, ok := strings.Cut(strings.TrimPrefix(name, "."), ".tmp")
	return ok && strings.HasPrefix(name, ".") && stateName(base)
}
