package imagecache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Kinds of entries.
const (
	KindBuild   = "build"   // the image a build target made
	KindStage   = "stage"   // a named stage of a multi-stage build
	KindBase    = "base"    // a FROM image of a build
	KindService = "service" // a service's image
)

// Entry is one saved image: the docker-save archive's listing with its
// small members inline and its large ones as blob references.
type Entry struct {
	ID      string    `json:"id"`   // image ID, sha256:...
	Refs    []string  `json:"refs"` // tags given to the image after a load
	Kind    string    `json:"kind"`
	Target  string    `json:"target,omitempty"`
	Layers  []string  `json:"layers"` // diff IDs, base first
	Members []Member  `json:"members"`
	Saved   time.Time `json:"saved"`

	Used time.Time `json:"-"` // last use: the entry file's mtime
}

// Member is one file of the archive.
type Member struct {
	Name   string `json:"name"`
	Type   byte   `json:"type"`
	Mode   int64  `json:"mode"`
	Link   string `json:"link,omitempty"`
	Size   int64  `json:"size"`
	Digest string `json:"digest,omitempty"` // sha256 hex of the content (regular files)
	// Blob says the content is in blobs/; Stored is that file's size and
	// Zstd whether it is compressed.
	Blob   bool   `json:"blob,omitempty"`
	Stored int64  `json:"stored,omitempty"`
	Zstd   bool   `json:"zstd,omitempty"`
	Data   []byte `json:"data,omitempty"`
}

// Info says what an image is, for a save.
type Info struct {
	Refs   []string
	Kind   string
	Target string
}

// errDamaged marks an entry that cannot be used; errors.Is finds it in
// a damagedError, whose text is only the reason (the messages around it
// already say "damaged").
var errDamaged = errors.New("damaged")

type damagedError struct{ why string }

func (d *damagedError) Error() string        { return d.why }
func (d *damagedError) Is(target error) bool { return target == errDamaged }

func damaged(format string, args ...any) error {
	return &damagedError{fmt.Sprintf(format, args...)}
}

// validDigest: a member's digest names a blob file, so it must be
// exactly a sha256 in lower-case hex (no "../" from a tampered cache).
func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if !(d[i] >= '0' && d[i] <= '9' || d[i] >= 'a' && d[i] <= 'f') {
			return false
		}
	}
	return true
}

// readEntry reads one entry file.
func (c *Cache) readEntry(path string) (*Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, damaged("unreadable entry: %v", err)
	}
	if e.ID == "" || c.entryPath(e.ID) != path {
		return nil, damaged("entry names image %q", e.ID)
	}
	for _, m := range e.Members {
		if (m.Blob || m.Digest != "") && !validDigest(m.Digest) {
			return nil, damaged("member %q has a bad digest %q", m.Name, m.Digest)
		}
	}
	if fi, err := os.Stat(path); err == nil {
		e.Used = fi.ModTime()
	}
	return &e, nil
}

// dirStamp is what a stat of the entries folder says: every save, drop
// and prune renames or removes a file there, which changes it.
type dirStamp struct {
	ok   bool
	mod  time.Time
	size int64
	read time.Time
}

// racyWindow: a folder changed this close to when it was read may change
// again without its mtime moving (coarse timestamps), so it is re-read.
const racyWindow = 2 * time.Second

func (c *Cache) statEntries() dirStamp {
	fi, err := os.Stat(c.entriesDir())
	if err != nil {
		return dirStamp{}
	}
	return dirStamp{ok: true, mod: fi.ModTime(), size: fi.Size()}
}

// loadIndex returns the entries, read again when another process (or this
// one) changed the folder since; damaged entries are reported and, under
// the state lock, removed.
func (c *Cache) loadIndex() map[string]*Entry {
	now := c.statEntries()
	if c.index != nil && !c.locked {
		old := c.stamp
		if now.ok == old.ok && now.mod.Equal(old.mod) && now.size == old.size && old.read.Sub(old.mod) > racyWindow {
			return c.index
		}
	}
	if c.index != nil && c.locked {
		return c.index // read afresh when the lock was taken; changes since are ours
	}
	now.read = time.Now()
	c.index = map[string]*Entry{}
	c.stamp = now
	des, _ := os.ReadDir(c.entriesDir())
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		path := filepath.Join(c.entriesDir(), de.Name())
		e, err := c.readEntry(path)
		if err != nil {
			if !errors.Is(err, errDamaged) {
				continue // vanished meanwhile: another process dropped it
			}
			id := strings.TrimSuffix(de.Name(), ".json")
			if c.locked {
				os.Remove(path)
				c.warnOnce(id, fmt.Sprintf("image cache: entry %s is damaged (%v); removed it", ShortID(id), err))
			} else {
				c.warnOnce(id, fmt.Sprintf("image cache: entry %s is damaged (%v); ignoring it", ShortID(id), err))
			}
			continue
		}
		c.index[e.ID] = e
	}
	return c.index
}

// entry returns the entry of image id, if any.
func (c *Cache) entry(id string) *Entry {
	return c.loadIndex()[id]
}

// newest returns the entries match accepts, most recently saved first.
func (c *Cache) newest(match func(*Entry) bool) []*Entry {
	var out []*Entry
	for _, e := range c.loadIndex() {
		if match(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *Entry) int { return b.Saved.Compare(a.Saved) })
	return out
}

// byRef returns the most recently saved entry with ref among its refs.
func (c *Cache) byRef(ref string) *Entry {
	if es := c.newest(func(e *Entry) bool { return slices.Contains(e.Refs, ref) }); len(es) > 0 {
		return es[0]
	}
	return nil
}

// check verifies, without reading them, that the entry's blobs are all
// there at their recorded sizes: a truncated archive is caught before
// anything is sent to the engine. It returns the bad member, if one is.
func (c *Cache) check(e *Entry) (*Member, error) {
	if len(e.Members) == 0 {
		return nil, damaged("no members")
	}
	for i, m := range e.Members {
		if !m.Blob {
			if int64(len(m.Data)) != m.Size && m.Type == '0' {
				return nil, damaged("%s is %d bytes, want %d", m.Name, len(m.Data), m.Size)
			}
			continue
		}
		fi, err := os.Stat(c.blobPath(m.Digest, m.Zstd))
		if err != nil {
			return nil, damaged("layer %s is missing", short(m.Digest))
		}
		if fi.Size() != m.Stored {
			return &e.Members[i], damaged("layer %s is %d bytes, want %d (truncated?)", short(m.Digest), fi.Size(), m.Stored)
		}
	}
	return nil, nil
}

// usable reports whether the entry's archive looks whole; a damaged one
// is reported and removed.
func (c *Cache) usable(e *Entry) bool {
	if e == nil {
		return false
	}
	bad, err := c.check(e)
	if err == nil {
		return true
	}
	c.drop(e, err, bad, true)
	return false
}

// drop removes a damaged entry and reports it once. A bad layer is
// removed too, with every other entry that needs it: the next save
// writes it afresh. It works under the state lock, taken here if the
// caller does not hold it, on the entries as they are on disk: another
// process may have dropped or repaired the entry meanwhile. recheck says
// the fault is one check finds (a missing or truncated layer), so a
// repaired entry can be told and kept.
func (c *Cache) drop(e *Entry, why error, bad *Member, recheck bool) {
	if !c.locked {
		// Not for long: another process may be saving a large image.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		unlock, err := c.lockState(ctx)
		cancel()
		if err != nil {
			return // not removed this time; the caller does without it
		}
		defer unlock()
	}
	fresh := c.entry(e.ID)
	if fresh == nil {
		return
	}
	if recheck {
		if b, err := c.check(fresh); err == nil {
			return
		} else {
			bad, why = b, err
		}
	}
	gone := []*Entry{fresh}
	if bad != nil {
		os.Remove(c.blobPath(bad.Digest, bad.Zstd))
		for _, o := range c.loadIndex() {
			if o.ID != e.ID && slices.ContainsFunc(o.Members, func(m Member) bool { return m.Blob && m.Digest == bad.Digest }) {
				gone = append(gone, o)
			}
		}
	}
	names := make([]string, 0, len(gone))
	for _, g := range gone {
		os.Remove(c.entryPath(g.ID))
		delete(c.loadIndex(), g.ID)
		c.reported[g.ID] = true
		name := ShortID(g.ID)
		if len(g.Refs) > 0 {
			name += " (" + strings.Join(g.Refs, ", ") + ")"
		}
		names = append(names, name)
	}
	c.reported[e.ID] = false
	c.warnOnce(e.ID, fmt.Sprintf("image cache: archive of %s is damaged (%v); removed it", strings.Join(names, ", "), why))
}

// Lookup returns the ID of the newest saved image tagged ref whose
// archive looks whole.
func (c *Cache) Lookup(ref string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.newest(func(e *Entry) bool { return slices.Contains(e.Refs, ref) }) {
		if c.usable(e) {
			return e.ID, true
		}
	}
	return "", false
}

// Has reports whether the image's archive is in the cache and looks whole.
// A damaged one is reported and removed. A whole one is marked used: a
// target it keeps up to date must not lose it to least-recently-used
// pruning just because nothing needed to load it.
func (c *Cache) Has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(id)
	if !c.usable(e) {
		return false
	}
	c.touch(e)
	return true
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// SameLayers reports whether the newest image saved as ref has exactly
// these layers. A rebuilt stage whose layers did not change differs only
// in its config (BuildKit's cache metadata), and the archive already kept
// serves as a cache source just as well, so it need not be saved again.
func (c *Cache) SameLayers(ref string, layers []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byRef(ref)
	if e == nil || !slices.Equal(e.Layers, layers) || !c.usable(e) {
		return false
	}
	c.touch(e)
	return true
}

// Newest returns the ID of the image of kind that target saved last, if
// its archive looks whole: a build's previous image, as a cache source.
func (c *Cache) Newest(kind, target string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.newest(func(e *Entry) bool { return e.Kind == kind && e.Target == target }) {
		if c.usable(e) {
			return e.ID, true
		}
	}
	return "", false
}
