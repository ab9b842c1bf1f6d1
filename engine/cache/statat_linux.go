//go:build linux && (amd64 || arm64)

package cache

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// statAt stats name in the open folder fd, following a symbolic link as
// Index.Hash's stat does. The name is made a C string in *buf rather than
// in a new allocation (unix.Fstatat's): a walk stats every file.
func statAt(fd int, name string, buf *[]byte, st *unix.Stat_t) error {
	b := append(append((*buf)[:0], name...), 0)
	*buf = b
	_, _, errno := unix.Syscall6(sysFstatat, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(st)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
