package imagecache

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"

	"github.com/dtask-dev/dtask/internal/atomicfile"
)

// DefaultMaxSize is cache.max_size when the task file sets none: one
// budget for the whole state folder, records and images alike.
const DefaultMaxSize = cache.DefaultMaxSize

// Locker is the state folder's inter-process lock (engine/cache Store).
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// Cache is the image cache in one folder.
type Cache struct {
	dir     string
	MaxSize int64
	lock    Locker
	// Warn reports a damaged entry; each entry is reported once per process.
	Warn func(msg string)

	mu       sync.Mutex // one cache operation at a time in this process
	locked   bool       // this process holds the state lock (under mu)
	index    map[string]*Entry
	stamp    dirStamp // the entries folder as it was when index was read
	reported map[string]bool
}

// Open returns the cache in dir; nothing is created until something is saved.
// lock may be nil (tests, a single process).
func Open(dir string, maxSize int64, lock Locker) *Cache {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Cache{dir: dir, MaxSize: maxSize, lock: lock, reported: map[string]bool{}}
}

// Dir is the cache's folder.
func (c *Cache) Dir() string { return c.dir }

// acquire serialises cache operations in this process and takes the
// state lock against other dtask processes. The index is read afresh
// once the lock is held: another process may have saved or dropped
// entries since, and a prune against an old view would delete layers
// that process's new entries use.
func (c *Cache) acquire(ctx context.Context) (func(), error) {
	c.mu.Lock()
	unlock, err := c.lockState(ctx)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return func() { unlock(); c.mu.Unlock() }, nil
}

// lockState takes the state lock (c.mu held) and drops the in-memory
// index, so that what follows sees the entries as they are on disk.
func (c *Cache) lockState(ctx context.Context) (func(), error) {
	unlock := func() {}
	if c.lock != nil {
		u, err := c.lock.Lock(ctx)
		if err != nil {
			return nil, err
		}
		unlock = u
	}
	c.locked = true
	c.index = nil
	return func() { c.locked = false; unlock() }, nil
}

func (c *Cache) entriesDir() string { return filepath.Join(c.dir, "entries") }
func (c *Cache) blobsDir() string   { return filepath.Join(c.dir, "blobs") }
func (c *Cache) tmpDir() string     { return filepath.Join(c.dir, "tmp") }

func (c *Cache) entryPath(id string) string {
	return filepath.Join(c.entriesDir(), idHex(id)+".json")
}

// blobPath is where a blob is stored, compressed or not.
func (c *Cache) blobPath(digest string, compressed bool) string {
	p := filepath.Join(c.blobsDir(), digest)
	if compressed {
		p += ".zst"
	}
	return p
}

// idHex is the hex part of an image ID, checked so that it can name a file.
func idHex(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
		return "invalid"
	}
	return h
}

// ShortID is an image ID as docker prints it.
func ShortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// warnOnce reports a damaged entry the first time only.
func (c *Cache) warnOnce(id, msg string) {
	if c.reported[id] {
		return
	}
	c.reported[id] = true
	if c.Warn != nil {
		c.Warn(msg)
	} else {
		fmt.Fprintln(os.Stderr, "warning: "+msg)
	}
}

// touch marks an entry as used now, for least-recently-used pruning.
func (c *Cache) touch(e *Entry) {
	now := time.Now()
	_ = os.Chtimes(c.entryPath(e.ID), now, now)
	e.Used = now
}

// writeAtomic writes data to path through a temporary file and a rename.
// Its temporary file is in the cache's own folder for them, where a
// killed run's leftovers are found.
func (c *Cache) writeAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, c.tempFile)
}

func (c *Cache) tempFile() (*os.File, error) {
	if err := os.MkdirAll(c.tmpDir(), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(c.tmpDir(), "part-*")
	if err == nil {
		_ = f.Chmod(0o644) // as any other file of the state folder
	}
	return f, err
}
