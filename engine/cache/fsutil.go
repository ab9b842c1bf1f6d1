package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// State files are private to the user: records name what a project
// builds, and the secret key must stay unreadable to others.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// writeAtomic replaces path with data: a temp file in the same folder,
// renamed over it. Readers see the old file or the new one, never a torn
// one. It does not fsync: every state file carries a checksum, so what a
// power cut leaves half-written reads as a miss, and an fsync per record
// made a first run of many small targets cost two disk flushes each.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// ensureDir makes the folder path (its parent must exist) and checks that
// it is a real folder: a symbolic link planted inside the state folder
// must not send dtask's writes somewhere else.
func ensureDir(path string) error {
	if err := os.Mkdir(path, dirMode); err != nil && !os.IsExist(err) {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a folder (a symbolic link or a file); refusing to write through it", path)
	}
	return nil
}

// openLock opens (creating) a lock file without following a symbolic
// link: O_CREATE through a planted link would create files elsewhere.
func openLock(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR:
			continue
		case unix.ELOOP:
			return -1, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("a symbolic link; refusing to follow it")}
		}
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
}

// tryLockFile takes the lock on path if it is free, without waiting.
func tryLockFile(path string) (unlock func(), ok bool, err error) {
	fd, err := openLock(path)
	if err != nil {
		return nil, false, err
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		unix.Close(fd)
		return nil, false, nil
	}
	return func() {
		unix.Flock(fd, unix.LOCK_UN)
		unix.Close(fd)
	}, true, nil
}

// lockFile takes an exclusive flock(2) on path, creating it, and waits for
// it until ctx is done (a nil ctx waits for ever).
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	fd, err := openLock(path)
	if err != nil {
		return nil, err
	}
	wait := time.Millisecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				unix.Flock(fd, unix.LOCK_UN)
				unix.Close(fd)
			}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			unix.Close(fd)
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		var done <-chan struct{}
		if ctx != nil {
			done = ctx.Done()
		}
		select {
		case <-done:
			unix.Close(fd)
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}
