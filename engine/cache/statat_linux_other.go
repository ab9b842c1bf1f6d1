//go:build linux && !amd64 && !arm64

package cache

import "golang.org/x/sys/unix"

// statAt stats name in the open folder fd, following a symbolic link as
// Index.Hash's stat does.
func statAt(fd int, name string, _ *[]byte, st *unix.Stat_t) error {
	return unix.Fstatat(fd, name, st, 0)
}
