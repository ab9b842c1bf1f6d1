package targets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dtask-dev/dtask/engine"
)

// planHostPath hashes a bind-mounted host path as a source: every file
// under a folder, or the file itself. A missing path adds nothing (the
// engine creates it as an empty folder) but is still watched.
func planHostPath(p *engine.Plan, abs string) error {
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		p.Watch(abs)
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return p.Files(filepath.Dir(abs), []string{filepath.Base(abs)})
	}
	return p.GlobFiles(abs, []string{"**"})
}
