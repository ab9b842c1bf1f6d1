package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Store keeps success records under a folder (.dtask/ beside the task
// file by default):
//
//	records/ab/abcdef….rec   one record per key, so old keys still hit
//	last/NAME                the key of the target's latest success
//	index                    the stat index
//	lock                     flock(2) for Lock
type Store struct {
	dir string
}

// OpenStore opens the store at dir, creating and marking the folder; a
// folder that is not dtask's (see claim) is refused.
func OpenStore(dir string) (*Store, error) {
	if err := claim(dir); err != nil {
		return nil, fmt.Errorf("cache folder %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// IndexPath is where the stat index lives.
func (s *Store) IndexPath() string { return filepath.Join(s.dir, "index") }

// Lock takes the store's exclusive lock (flock on DIR/lock), waiting for
// another process to release it until ctx is done.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	unlock, err = lockFile(ctx, filepath.Join(s.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", s.dir, err)
	}
	return unlock, nil
}

// Get returns the record for key. A missing or corrupt record is a miss.
func (s *Store) Get(key string) (*Record, bool) {
	if !validKey(key) {
		return nil, false
	}
	data, err := os.ReadFile(s.recordPath(key))
	if err != nil {
		return nil, false
	}
	rec, err := decodeRecord(data)
	if err != nil || rec.Key != key {
		return nil, false
	}
	return rec, true
}

// Put writes rec atomically under its key and makes it its target's
// latest. Long line values are kept as their hash: Diff needs only to
// compare them.
func (s *Store) Put(rec *Record) error {
	if !validKey(rec.Key) {
		return fmt.Errorf("record for %s: bad key %q", rec.Target, rec.Key)
	}
	p := s.recordPath(rec.Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	if err := writeAtomic(p, encodeRecord(rec)); err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	last := s.lastPath(rec.Target)
	if err := os.MkdirAll(filepath.Dir(last), 0o755); err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	if err := writeAtomic(last, []byte(rec.Key+"\n")); err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	return nil
}

// Last returns the latest recorded success of target, whatever its key.
func (s *Store) Last(target string) (*Record, bool) {
	data, err := os.ReadFile(s.lastPath(target))
	if err != nil {
		return nil, false
	}
	rec, ok := s.Get(strings.TrimSpace(string(data)))
	if !ok || rec.Target != target {
		return nil, false
	}
	return rec, true
}

func (s *Store) recordPath(key string) string {
	return filepath.Join(s.dir, "records", key[:2], key+".rec")
}

func (s *Store) lastPath(target string) string {
	return filepath.Join(s.dir, "last", escapeName(target))
}

// validKey accepts lower-case hex of a sensible length, so a key can never
// name a path outside the store.
func validKey(key string) bool {
	if len(key) < 8 || len(key) > 128 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// escapeName turns a target name into a file name: letters, digits, '-',
// '_' and '.' stay, anything else becomes %XX; a leading "t-" keeps "." and
// ".." from meaning folders.
func escapeName(name string) string {
	var b strings.Builder
	b.WriteString("t-")
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// LockTarget takes a lock that one dtask process at a time holds while it
// runs the named target, so that two processes on one project never run
// the same target at once. waiting is called if another process holds it.
func (s *Store) LockTarget(ctx context.Context, name string, waiting func()) (unlock func(), err error) {
	dir := filepath.Join(s.dir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, escapeName(name))
	if unlock, ok := tryLockFile(path); ok {
		return unlock, nil
	}
	waiting()
	unlock, err = lockFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("waiting for another dtask running %s: %w", name, err)
	}
	return unlock, nil
}
