package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// maxFileSize bounds each file compose reads for dtask, as the task file
// is bounded.
const maxFileSize = taskfile.MaxFileSize

// checkComposeFiles checks the compose files and the .env beside the
// first one before compose reads them. A missing compose file is left
// for compose to report.
func checkComposeFiles(root string, paths, files []string) error {
	for i, p := range paths {
		if err := checkFile(root, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("compose file %s %w", files[i], err)
		}
	}
	dotEnv := filepath.Join(filepath.Dir(paths[0]), ".env")
	if err := checkFile(root, dotEnv); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %w", dotEnv, err)
	}
	return nil
}

// checkEnvFiles checks every service's env_file before compose reads it;
// an optional one that is missing is no error, as in compose.
func checkEnvFiles(root string, proj *types.Project, paths, files []string) error {
	base := filepath.Dir(paths[0])
	for _, name := range proj.ServiceNames() {
		for _, ef := range proj.Services[name].EnvFiles {
			err := checkFile(root, ef.Path)
			if err == nil || errors.Is(err, fs.ErrNotExist) && !bool(ef.Required) {
				continue
			}
			return fmt.Errorf("%s: services.%s: env_file %q %w%s", writtenAt(paths, files, "services", name, "env_file"),
				name, asWritten(base, ef.Path), err, envFileHint(err))
		}
	}
	return nil
}

// checkFile refuses a file that is outside root (symbolic links
// followed), not a regular file (a FIFO would hang the read, /dev/zero
// never end) or larger than maxFileSize. Its errors read after the
// file's name.
func checkFile(root, path string) error {
	if !taskfile.Inside(root, path) {
		return &outsideError{root}
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("cannot be read: %w", err)
	case !fi.Mode().IsRegular():
		return errors.New("is not a regular file")
	case fi.Size() > maxFileSize:
		return fmt.Errorf("is larger than the limit of %d MiB", maxFileSize>>20)
	}
	return nil
}

// outsideError is a file outside the project.
type outsideError struct{ root string }

func (e *outsideError) Error() string { return fmt.Sprintf("is outside the project (%s)", e.root) }

// envFileHint says why an env_file outside the project is refused and
// what to do instead. There is no opt-in: the compose file is read by
// -l and -n before the repository is trusted, and an opt-in written in
// that same repository would let it read any file it names.
func envFileHint(err error) string {
	var out *outsideError
	if !errors.As(err, &out) {
		return ""
	}
	return ": -l and -n read env files before a task file is trusted, so only files inside the project are read;" +
		" copy it into the project (git-ignored), or list its names under environment: without values and set them" +
		" in the environment dtask runs in"
}

// asWritten shows path relative to base when it is under it, as a
// compose file would name it.
func asWritten(base, path string) string {
	if rel, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
