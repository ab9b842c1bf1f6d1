package taskfile

import (
	"errors"
	"os"
	"syscall"
)

// ErrNotRegular is a FIFO, device, socket or folder where a file is read.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path for reading if it is a regular file. A task file
// from a cloned repository is read by -l and -n before it is trusted, and
// so is what it names: opening a FIFO must not wait for a writer
// (O_NONBLOCK, which changes nothing for a regular file), and a device
// such as /dev/zero must not be read at all.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
