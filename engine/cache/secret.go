package cache

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// secretKeySize is the length of the per-cache key secret values are
// hashed with.
const secretKeySize = 32

// SecretKey returns the store's random key for hashing secret values
// (secret.key, 0600, made on first use). Records keep a keyed hash of a
// secret so that a change still explains a re-run, while a short secret
// cannot be guessed from a copied .dtask/ without the key. nil means the
// key could not be read or made: secrets are then stored as a bare marker.
func (s *Store) SecretKey() []byte {
	s.keyOnce.Do(func() { s.key = loadSecretKey(filepath.Join(s.dir, "secret.key")) })
	return s.key
}

func loadSecretKey(path string) []byte {
	if key := readSecretKey(path); key != nil {
		return key
	}
	key := make([]byte, secretKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil
	}
	// Written like any state file: a concurrent first run may replace it,
	// and a record hashed with the other key only explains a re-run less well.
	if writeAtomic(path, []byte(hex.EncodeToString(key)+"\n")) != nil {
		return nil
	}
	return readSecretKey(path)
}

// readSecretKey reads the key file, which must be a regular file (not a
// link) of the right length.
func readSecretKey(path string) []byte {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	buf := make([]byte, 2*secretKeySize+1)
	n, _ := f.Read(buf)
	if n != len(buf) {
		return nil
	}
	key, err := hex.DecodeString(string(buf[:2*secretKeySize]))
	if err != nil {
		return nil
	}
	return key
}

// secretMark is what a record keeps of a value holding a secret.
func secretMark(key []byte, value string) string {
	if key == nil {
		return "#secret"
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return "#secret:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// checkStateDir refuses a state folder that is a symbolic link to a
// folder others could write to or one that is not the user's: dtask
// creates and deletes files in it.
func checkStateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("a symbolic link that leads nowhere: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("a symbolic link to something that is not a folder; refusing")
	case int(st.Uid) != os.Getuid():
		return fmt.Errorf("a symbolic link to a folder owned by another user; refusing")
	case st.Mode&0o022 != 0:
		return fmt.Errorf("a symbolic link to a folder others can write to; refusing")
	}
	return nil
}
