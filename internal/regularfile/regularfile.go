package regularfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular is a FIFO, device, socket or folder where a file is read.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading if it is a regular file. -l and -n read
// what an untrusted task file names: opening a FIFO must not wait for a
// writer (O_NONBLOCK, which changes nothing for a regular file), and a
// device must not be read at all.
func Open(path string) (*os.File, error) {
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

// Read reads the regular file at path, of at most limit bytes (read no
// further, in case it grows).
func Read(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s is larger than the limit of %d bytes", path, limit)
	}
	return b, err
}
