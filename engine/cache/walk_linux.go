package cache

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

func openDir(abs string) (int, error) {
	return unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// readDirents calls fn for each entry of the open folder fd, straight from
// getdents(2): no stat, no sorting, no allocation.
func readDirents(_ string, fd int, buf *[]byte, fn func(name []byte, typ fileType)) error {
	if *buf == nil {
		*buf = make([]byte, 32<<10)
	}
	b := *buf
	for {
		n, err := unix.Getdents(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
		for off := 0; off < n; {
			reclen := int(binary.NativeEndian.Uint16(b[off+16:]))
			if reclen == 0 || off+reclen > n {
				break
			}
			typ := b[off+18]
			name := b[off+19 : off+reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
				continue
			}
			fn(name, direntType(typ))
		}
	}
}

func direntType(t byte) fileType {
	switch t {
	case unix.DT_REG:
		return typeFile
	case unix.DT_DIR:
		return typeDir
	case unix.DT_LNK:
		return typeLink
	case unix.DT_UNKNOWN:
		return typeUnknown
	}
	return typeOther
}
