package imagecache

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// errDamaged marks an entry that cannot be used.
var errDamaged = errors.New("damaged")

// readEntry reads one entry file.
func (c *Cache) readEntry(path string) (*Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", errDamaged, err)
	}
	if e.ID == "" || c.entryPath(e.ID) != path {
		return nil, fmt.Errorf("%w: entry names image %q", errDamaged, e.ID)
	}
	if fi, err := os.Stat(path); err == nil {
		e.Used = fi.ModTime()
	}
	return &e, nil
}

// loadIndex reads every entry once per process; damaged entries are
// reported and removed.
func (c *Cache) loadIndex() map[string]*Entry {
	if c.index != nil {
		return c.index
	}
	c.index = map[string]*Entry{}
	des, _ := os.ReadDir(c.entriesDir())
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		path := c.entriesDir() + "/" + de.Name()
		e, err := c.readEntry(path)
		if err != nil {
			id := strings.TrimSuffix(de.Name(), ".json")
			c.warnOnce(id, fmt.Sprintf("image cache: entry %s is damaged (%v); removed it", ShortID(id), err))
			os.Remove(path)
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

// byRef returns the most recently saved entry with ref among its refs.
func (c *Cache) byRef(ref string) *Entry {
	var best *Entry
	for _, e := range c.loadIndex() {
		if slices.Contains(e.Refs, ref) && (best == nil || e.Saved.After(best.Saved)) {
			best = e
		}
	}
	return best
}

// check verifies, without reading them, that the entry's blobs are all
// there at their recorded sizes: a truncated archive is caught before
// anything is sent to the engine. It returns the bad member, if one is.
func (c *Cache) check(e *Entry) (*Member, error) {
	if len(e.Members) == 0 {
		return nil, fmt.Errorf("%w: no members", errDamaged)
	}
	for i, m := range e.Members {
		if !m.Blob {
			if int64(len(m.Data)) != m.Size && m.Type == '0' {
				return nil, fmt.Errorf("%w: %s is %d bytes, want %d", errDamaged, m.Name, len(m.Data), m.Size)
			}
			continue
		}
		fi, err := os.Stat(c.blobPath(m.Digest, m.Zstd))
		if err != nil {
			return nil, fmt.Errorf("%w: layer %s is missing", errDamaged, short(m.Digest))
		}
		if fi.Size() != m.Stored {
			return &e.Members[i], fmt.Errorf("%w: layer %s is %d bytes, want %d (truncated?)", errDamaged, short(m.Digest), fi.Size(), m.Stored)
		}
	}
	return nil, nil
}

// usable returns the entry of id if its archive looks whole; a damaged
// one is reported and removed.
func (c *Cache) usable(e *Entry) bool {
	if e == nil {
		return false
	}
	if bad, err := c.check(e); err != nil {
		c.drop(e, err, bad)
		return false
	}
	return true
}

// drop removes a damaged entry and reports it once. A bad layer is
// removed too, with every other entry that needs it: the next save
// writes it afresh.
func (c *Cache) drop(e *Entry, why error, bad *Member) {
	gone := []*Entry{e}
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
	c.warnOnce(e.ID, fmt.Sprintf("image cache: archive of %s is damaged: %v; removed it", strings.Join(names, ", "), why))
}

// Lookup returns the ID of the newest saved image tagged ref, if its
// archive looks whole.
func (c *Cache) Lookup(ref string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		e := c.byRef(ref)
		if e == nil {
			return "", false
		}
		if c.usable(e) {
			return e.ID, true
		}
	}
}

// Has reports whether the image's archive is in the cache and looks whole.
// A damaged one is reported and removed.
func (c *Cache) Has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usable(c.entry(id))
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
	for {
		var best *Entry
		for _, e := range c.loadIndex() {
			if e.Kind == kind && e.Target == target && (best == nil || e.Saved.After(best.Saved)) {
				best = e
			}
		}
		if best == nil {
			return "", false
		}
		if c.usable(best) {
			return best.ID, true
		}
	}
}
