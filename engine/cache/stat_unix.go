package cache

import "golang.org/x/sys/unix"

func statOf(st *unix.Stat_t) stat {
	return stat{
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		ino:   uint64(st.Ino),
		mode:  uint32(st.Mode),
	}
}
