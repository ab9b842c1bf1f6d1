package targets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// planHostPath hashes a bind-mounted host path as a source: every file
// under a folder, or the file itself. A missing path adds nothing (the
// engine creates it as an empty folder) but is still watched. A path
// outside the project (a cache folder, the Docker socket) and a special
// file (a socket, /dev/null) are mounted but not hashed: dtask reads
// nothing outside the project, and a socket has no content.
func (e *Env) planHostPath(p *engine.Plan, abs string) error {
	root := e.Root
	if root == "" {
		root = e.File.Dir
	}
	if !taskfile.Inside(root, abs) {
		p.Unhashed(abs, "outside the project")
		return nil
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		p.Watch(abs)
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		p.Unhashed(abs, "not a regular file")
		return nil
	}
	if !fi.IsDir() {
		return p.Files(filepath.Dir(abs), []string{filepath.Base(abs)})
	}
	return p.GlobFiles(abs, []string{"**"})
}
