package cache

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"
)

// heads is the header of each target's latest used record, in one file
// (DIR/heads) read once per run: ten thousand up-to-date targets cost one
// read, not one record file each. A record never changes meaning for its
// key, so a header found here is as good as its file; a key missing here
// is looked up in records/ as before. The file is rewritten once per run,
// and only when a target's latest key changed.
//
// File: a line "dtask-heads-1 CHECKSUM", then "KEY<TAB>NAMEHASH<TAB>JSON"
// lines, JSON being the record's header.
const headsMagic = "dtask-heads-1 "

type heads struct {
	once   sync.Once
	mu     sync.Mutex
	byName map[string]headEntry // nameHash(target) -> its latest key
	byKey  map[string]string    // key -> the JSON header, as read
	noted  map[string]string    // the same for keys hit or put this run
	latest map[string]bool      // the keys byName names
	dirty  bool
}

type headEntry struct{ key, header string }

func (s *Store) headsPath() string { return filepath.Join(s.dir, "heads") }

// loadHeads reads the heads file once; a missing or damaged one is empty.
func (s *Store) loadHeads() *heads {
	h := &s.heads
	h.once.Do(func() {
		h.byName, h.byKey, h.noted = map[string]headEntry{}, map[string]string{}, map[string]string{}
		h.latest = map[string]bool{}
		data, err := os.ReadFile(s.headsPath())
		if err != nil {
			return
		}
		first := bytes.IndexByte(data, '\n')
		if first < 0 || !bytes.HasPrefix(data, []byte(headsMagic)) {
			return
		}
		sum, err := strconv.ParseUint(string(data[len(headsMagic):first]), 16, 64)
		if body := data[first+1:]; err != nil || sum != xxh3.Hash(body) {
			return
		}
		for _, line := range strings.Split(string(data[first+1:]), "\n") {
			key, rest, _ := strings.Cut(line, "\t")
			name, header, ok := strings.Cut(rest, "\t")
			if ok && validKey(key) {
				h.byName[name] = headEntry{key, header}
				h.byKey[key] = header
				h.latest[key] = true
			}
		}
	})
	return h
}

// headHit is Hit from the heads file.
func (s *Store) headHit(key string) (*Record, bool) {
	h := s.loadHeads()
	h.mu.Lock()
	header, ok := h.byKey[key]
	if !ok {
		header, ok = h.noted[key]
	}
	h.mu.Unlock()
	if !ok {
		return nil, false
	}
	var rh recordHeader
	if json.Unmarshal([]byte(header), &rh) != nil || rh.Key != key {
		return nil, false
	}
	return rh.record(), true
}

// noteHead makes key target's latest used record for the next run's
// heads file.
func (s *Store) noteHead(target, key string, header []byte) {
	h := s.loadHeads()
	name := nameHash(target)
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.byName[name]; ok && old.key == key {
		return
	}
	if old, ok := h.byName[name]; ok {
		delete(h.latest, old.key)
	}
	h.byName[name] = headEntry{key, string(header)}
	h.noted[key] = string(header)
	h.latest[key] = true
	h.dirty = true
}

// inHeads says whether key is a target's latest in the heads file, as
// read (read) or as it will be written: Prune keeps those records, so
// Touch need not mark the ones read as used.
func (s *Store) inHeads(key string, read bool) bool {
	h := s.loadHeads()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.byKey[key]; read && !ok {
		return false
	}
	return h.latest[key]
}

// SaveHeads writes the heads file if a target's latest key changed this
// run: one durable write per run. Losing it costs a read of each record.
func (s *Store) SaveHeads() error {
	h := s.loadHeads()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.dirty {
		return nil
	}
	names := make([]string, 0, len(h.byName))
	for n := range h.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var body bytes.Buffer
	for _, n := range names {
		e := h.byName[n]
		body.WriteString(e.key + "\t" + n + "\t" + e.header + "\n")
	}
	out := append([]byte(headsMagic), strconv.FormatUint(xxh3.Hash(body.Bytes()), 16)...)
	out = append(append(out, '\n'), body.Bytes()...)
	if err := writeAtomic(s.headsPath(), out); err != nil {
		return err
	}
	h.dirty = false
	return nil
}
