package cache

import (
	"fmt"
	"os"

	"github.com/zeebo/xxh3"
	"golang.org/x/sys/unix"
)

// readBufSize is the read buffer per worker: most source files fit in one
// read, larger ones stream through it.
const readBufSize = 1 << 20

// hashFile reads the file at path, whose stat was st, and returns its
// xxh3-128.
func hashFile(path string, st stat, buf []byte) ([16]byte, error) {
	if st.mode&unix.S_IFMT != unix.S_IFREG {
		return [16]byte{}, fmt.Errorf("%s: not a regular file", path)
	}
	fd, err := openRead(path)
	if err != nil {
		return [16]byte{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	// Small files: one read of the size stat gave, one-shot hash. A file
	// that grows meanwhile has a new mtime, so the next run reads it again.
	if st.size < int64(len(buf)) {
		n, err := readFull(fd, buf[:st.size])
		if err != nil {
			return [16]byte{}, &os.PathError{Op: "read", Path: path, Err: err}
		}
		return xxh3.Hash128(buf[:n]).Bytes(), nil
	}
	h := xxh3.New128()
	for {
		n, err := readFull(fd, buf)
		if err != nil {
			return [16]byte{}, &os.PathError{Op: "read", Path: path, Err: err}
		}
		h.Write(buf[:n])
		if n < len(buf) {
			return h.Sum128().Bytes(), nil
		}
	}
}

// openRead opens for reading; O_NONBLOCK keeps a file swapped for a FIFO
// since the stat from blocking the run.
func openRead(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// readFull fills buf or reads to the end of the file; n < len(buf) means
// the end was reached.
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, nil
		}
		n += m
	}
	return n, nil
}
