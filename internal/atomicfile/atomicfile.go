// Package atomicfile replaces a file whole: readers see the old content
// or the new, never a torn file.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
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
		return named(path, err)
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
		return named(path, err)
	}
	return nil
}

// Check says whether Write could write path, without touching path: it
// makes path's folder and creates and removes a temporary file there, so
// that a report asked for on the command line can be checked before an
// hour's run rather than lost after it.
func Check(path string, create func() (*os.File, error)) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return &os.PathError{Op: "write", Path: path, Err: syscall.EISDIR}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := create()
	if err != nil {
		return named(path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// named makes an error about the temporary file one about path: the
// temporary name (".report.xml.123.tmp") means nothing to whoever named
// path, and the file is gone by the time they read it.
func named(path string, err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return &os.PathError{Op: "write", Path: path, Err: syscall.EISDIR} // rename says "file exists"
		}
		return &os.PathError{Op: "write", Path: path, Err: le.Err}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &os.PathError{Op: "write", Path: path, Err: pe.Err}
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
