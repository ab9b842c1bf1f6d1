package imagecache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Listed is an entry as --cache list shows it.
type Listed struct {
	Entry
	Size int64 // bytes of its archive as stored (shared layers counted in full)
}

// List returns the entries, most recently used first, and the bytes the
// cache takes on disk (shared layers once).
func (c *Cache) List(ctx context.Context) ([]Listed, int64, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	c.index = nil // another process may have changed it
	var out []Listed
	for _, e := range c.loadIndex() {
		out = append(out, Listed{Entry: *e, Size: c.entrySize(e)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Used.After(out[j].Used) })
	return out, c.diskSize(), nil
}

func (c *Cache) entrySize(e *Entry) int64 {
	var n int64
	if fi, err := os.Stat(c.entryPath(e.ID)); err == nil {
		n = fi.Size()
	}
	for _, m := range e.Members {
		n += m.Stored
	}
	return n
}

// Prune drops least recently used entries until the cache fits in max
// bytes, and removes layers no entry uses. It returns what it dropped.
func (c *Cache) Prune(ctx context.Context, max int64) ([]Entry, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c.index = nil
	return c.pruneLocked(max), nil
}

func (c *Cache) pruneLocked(max int64) []Entry {
	idx := c.loadIndex()
	entries := make([]*Entry, 0, len(idx))
	for _, e := range idx {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Used.Before(entries[j].Used) })
	var dropped []Entry
	c.removeUnused()
	size := c.diskSize()
	for _, e := range entries {
		if size <= max {
			break
		}
		os.Remove(c.entryPath(e.ID))
		delete(idx, e.ID)
		dropped = append(dropped, *e)
		c.removeUnused()
		size = c.diskSize()
	}
	return dropped
}

// removeUnused deletes blobs no entry refers to, and temporary files a
// killed process left.
func (c *Cache) removeUnused() {
	used := map[string]bool{}
	for _, e := range c.loadIndex() {
		for _, m := range e.Members {
			if m.Blob {
				used[filepath.Base(c.blobPath(m.Digest, m.Zstd))] = true
			}
		}
	}
	des, _ := os.ReadDir(c.blobsDir())
	for _, de := range des {
		if !used[de.Name()] {
			os.Remove(filepath.Join(c.blobsDir(), de.Name()))
		}
	}
	tmps, _ := os.ReadDir(c.tmpDir())
	for _, de := range tmps {
		if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(filepath.Join(c.tmpDir(), de.Name()))
		}
	}
}

// diskSize is what the cache's entries and blobs take.
func (c *Cache) diskSize() int64 {
	var n int64
	for _, d := range []string{c.entriesDir(), c.blobsDir()} {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if fi, err := de.Info(); err == nil && !strings.HasPrefix(de.Name(), ".") {
				n += fi.Size()
			}
		}
	}
	return n
}

// Clear removes the whole image cache: the folders the cache made, then
// its folder if nothing else is left in it. Whatever else is there was
// not made by dtask and stays.
func (c *Cache) Clear(ctx context.Context) error {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	c.index = nil
	for _, d := range []string{c.entriesDir(), c.blobsDir(), c.tmpDir()} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := os.Remove(c.dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
		return err
	}
	return nil
}

func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}
