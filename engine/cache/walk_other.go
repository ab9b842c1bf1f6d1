//go:build !linux

package cache

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

func openDir(abs string) (int, error) {
	return unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

func statAt(fd int, name string, _ *[]byte, st *unix.Stat_t) error {
	return unix.Fstatat(fd, name, st, 0)
}

// readDirents calls fn for each entry of the folder at abs.
func readDirents(abs string, _ int, _ *[]byte, fn func(name []byte, typ fileType)) error {
	ents, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	for _, e := range ents {
		t := e.Type()
		switch {
		case t.IsRegular():
			fn([]byte(e.Name()), typeFile)
		case t.IsDir():
			fn([]byte(e.Name()), typeDir)
		case t&fs.ModeSymlink != 0:
			fn([]byte(e.Name()), typeLink)
		default:
			fn([]byte(e.Name()), typeOther)
		}
	}
	return nil
}
