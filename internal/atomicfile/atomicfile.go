// Package atomicfile replaces a file whole: readers see the old content
// or the new, never a torn file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write makes path's folder, writes data to a temporary file from
// create and renames it over path. The temporary file is removed on
// failure.
func Write(path string, data []byte, create func() (*os.File, error)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := create()
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Beside creates the temporary file in path's folder, hidden and named
// after path.
func Beside(path string) func() (*os.File, error) {
	return func() (*os.File, error) {
		return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	}
}
