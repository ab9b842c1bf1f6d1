package taskfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileNames are the names a task file is found by, the first winning when a
// folder has both.
var FileNames = []string{"Taskfile.toml", "dtask.toml"}

// ErrNotFound is wrapped by Find's error when no task file exists.
var ErrNotFound = errors.New("no task file found")

// Find returns the absolute path of the task file in startDir or the nearest
// parent folder that has one.
func Find(startDir string) (string, error) {
	dir, err := filepath.Abs(startDir)
	if err != nil {
		return "", &Error{Msg: err.Error(), err: err}
	}
	for {
		for _, n := range FileNames {
			p := filepath.Join(dir, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", &Error{
		Msg: fmt.Sprintf("no Taskfile.toml or dtask.toml in %s or any parent folder (use -f FILE to name one)", startDir),
		err: ErrNotFound,
	}
}
