package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Store keeps success records under a folder (.dtask/ beside the task
// file by default):
//
//	records/ab/abcdef….rec   one record per key, so old keys still hit
//	chunks/ab/abcdef…        runs of key lines that records share
//	sets/ab/abcdef…          lists of chunks (or sets) that records share
//	heads                    each target's latest used record header and so
//	                         its latest key, read once per run (heads.go)
//	last/HASH                the key of a target's latest success, as an
//	                         older dtask kept it
//	locks/HASH               flock(2) per target while it runs
//	index, index.log         the stat index
//	secret.key               the key secret values are hashed with
//	lock                     flock(2) for Lock
//
// Files are 0600 and folders 0700; per-target files are named by a hash
// of the target's name, so any name fits in a file name.
type Store struct {
	dir string
	// Attached are folders of files that records name, pruned with them.
	Attached []Attached

	keyOnce sync.Once
	key     []byte
	heads   heads
	wrote   writes // for the tally
}

// OpenStore opens the store at dir, creating and marking the folder; a
// folder that is not dtask's (see claim) is refused.
func OpenStore(dir string) (*Store, error) {
	if err := checkStateDir(dir); err != nil {
		return nil, fmt.Errorf("cache folder %s: %w", dir, err)
	}
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
	data, ok := s.read(key)
	if !ok {
		return nil, false
	}
	rec, err := s.decode(data)
	if err != nil || rec.Key != key {
		return nil, false
	}
	return rec, true
}

// Hit returns the record for key without its lines: what deciding that a
// target is up to date needs, read without the chunks a long record names.
func (s *Store) Hit(key string) (*Record, bool) {
	if rec, ok := s.headHit(key); ok {
		return rec, true
	}
	data, ok := s.read(key)
	if !ok {
		return nil, false
	}
	h, _, err := checkRecord(data)
	if err != nil || h.Key != key {
		return nil, false
	}
	s.noteHead(h)
	return h.record(), true
}

// Put writes rec atomically under its key and makes it its target's
// latest. Long line values are kept as their hash: Diff needs only to
// compare them.
func (s *Store) Put(rec *Record) error {
	if !validKey(rec.Key) {
		return fmt.Errorf("record for %s: bad key %q", rec.Target, rec.Key)
	}
	data, err := s.encode(rec)
	if err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	if err := s.writeIn(s.recordPath(rec.Key), data); err != nil {
		return fmt.Errorf("record for %s: %w", rec.Target, err)
	}
	s.wrote.records.Add(1)
	// The target's latest key goes into the heads file, written once at
	// the end of the run (SaveHeads), not into a file of its own: creating
	// a file per target was half of what a first run of ten thousand
	// trivial targets spent in dtask. A run killed first loses only that
	// pointer, which explains why a target runs; the record is written.
	s.noteHead(headerOf(rec))
	return nil
}

// writeIn writes a file of the store, making the folders between the
// store's folder and it.
func (s *Store) writeIn(path string, data []byte) error {
	rel, err := filepath.Rel(s.dir, filepath.Dir(path))
	if err != nil {
		return err
	}
	at := s.dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		at = filepath.Join(at, part)
		if err := ensureDir(at); err != nil {
			return err
		}
	}
	if err := writeAtomic(path, data); err != nil {
		return err
	}
	s.wrote.bytes.Add(int64(len(data)))
	return nil
}

// Last returns the latest recorded success of target, whatever its key.
func (s *Store) Last(target string) (*Record, bool) {
	key, ok := s.latestKey(target)
	if !ok {
		return nil, false
	}
	rec, ok := s.Get(key)
	if !ok || rec.Target != target {
		return nil, false
	}
	return rec, true
}

// LatestKey is the key of target's latest recorded success.
func (s *Store) LatestKey(target string) (string, bool) { return s.latestKey(target) }

// latestKey is the key of target's latest success: from the heads file
// (as read, or as this run changed it), else from last/, where a dtask
// before the heads file kept it.
func (s *Store) latestKey(target string) (string, bool) {
	if key, ok := s.latestOf(nameHash(target)); ok {
		return key, true
	}
	data, err := os.ReadFile(s.lastPath(target))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// read returns the bytes of the record file for key.
func (s *Store) read(key string) ([]byte, bool) {
	if !validKey(key) {
		return nil, false
	}
	data, err := os.ReadFile(s.recordPath(key))
	return data, err == nil
}

func (s *Store) recordPath(key string) string {
	return filepath.Join(s.dir, "records", key[:2], key+".rec")
}

func (s *Store) lastPath(target string) string {
	return filepath.Join(s.dir, "last", nameHash(target))
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

// nameHash turns a target name into a file name of fixed length: a name of
// any length or script fits, and none can mean a folder.
func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// LockTarget takes a lock that one dtask process at a time holds while it
// runs the named target, so that two processes on one project never run
// the same target at once. waiting is called if another process holds it.
func (s *Store) LockTarget(ctx context.Context, name string, waiting func()) (unlock func(), err error) {
	dir := filepath.Join(s.dir, "locks")
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	path := filepath.Join(dir, nameHash(name))
	unlock, ok, err := tryLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	if ok {
		return unlock, nil
	}
	waiting()
	unlock, err = lockFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("waiting for another dtask running %s: %w", name, err)
	}
	return unlock, nil
}
