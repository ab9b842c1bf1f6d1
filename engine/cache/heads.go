package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/xxh3"
)

// heads is the header of each target's latest used record, in one file
// (DIR/heads) read once per run: ten thousand up-to-date targets cost one
// read, not one record file each. A record never changes meaning for its
// key, so a header found here is as good as its file; a key missing here
// is looked up in records/ as before. The file is rewritten once per run,
// and only when a target's latest key changed.
//
// File: a line "dtask-heads-2 CHECKSUM", then one line per target:
// "KEY<TAB>NAMEHASH<TAB>TARGET<TAB>KIND<TAB>TIME<TAB>DURATION<TAB>LINES<TAB>OUTPUTS",
// the record's header in fields rather than JSON (OUTPUTS is JSON, empty
// without any): decoding ten thousand JSON headers took longer than
// reading the file.
const headsMagic = "dtask-heads-2 "

type heads struct {
	once   sync.Once
	mu     sync.Mutex
	byName map[string]headEntry // nameHash(target) -> its latest key
	byKey  map[string]string    // key -> the header fields, as read
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
		// Sized up front: growing three maps of ten thousand keys
		// rehashes each several times.
		n := bytes.Count(data, []byte("\n"))
		h.byName, h.byKey, h.latest = make(map[string]headEntry, n), make(map[string]string, n), make(map[string]bool, n)
		for line := range strings.SplitSeq(string(data[first+1:]), "\n") {
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
	rh, ok := parseHead(key, header)
	if !ok {
		return nil, false
	}
	return rh.record(), true
}

// formatHead is a record header as the heads file keeps it.
func formatHead(h *recordHeader) string {
	outputs := ""
	if len(h.Outputs) > 0 {
		b, _ := json.Marshal(h.Outputs)
		outputs = string(b)
	}
	return strings.Join([]string{quoteField(h.Target), quoteField(h.Kind), h.Time.Format(time.RFC3339Nano),
		strconv.FormatInt(int64(h.Duration), 10), strconv.Itoa(h.Lines), quoteField(outputs)}, "\t")
}

// parseHead reads what formatHead wrote, for key.
func parseHead(key, line string) (*recordHeader, bool) {
	var f [6]string
	rest, ok := line, true
	for i := range f {
		if f[i], rest, ok = strings.Cut(rest, "\t"); !ok && i < len(f)-1 {
			return nil, false
		}
	}
	if ok { // more than six fields
		return nil, false
	}
	h := &recordHeader{Key: key}
	var errs [6]error
	h.Target, errs[0] = unquoteField(f[0])
	h.Kind, errs[1] = unquoteField(f[1])
	h.Time, errs[2] = time.Parse(time.RFC3339Nano, f[2])
	d, err := strconv.ParseInt(f[3], 10, 64)
	h.Duration, errs[3] = time.Duration(d), err
	h.Lines, errs[4] = strconv.Atoi(f[4])
	outputs, err := unquoteField(f[5])
	if errs[5] = err; err == nil && outputs != "" {
		errs[5] = json.Unmarshal([]byte(outputs), &h.Outputs)
	}
	return h, errors.Join(errs[:]...) == nil
}

// noteHead makes key target's latest used record for the next run's
// heads file.
func (s *Store) noteHead(rh *recordHeader) {
	h := s.loadHeads()
	target, key, header := rh.Target, rh.Key, formatHead(rh)
	name := nameHash(target)
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.byName[name]; ok && old.key == key {
		return
	}
	if old, ok := h.byName[name]; ok {
		delete(h.latest, old.key)
	}
	h.byName[name] = headEntry{key, header}
	h.noted[key] = header
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
