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
	"unsafe"

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
	once  sync.Once
	mu    sync.Mutex
	read  map[string]headLine // key -> its target and header fields, as read
	noted map[string]headLine // the same for keys hit or put this run
	// byName is nameHash(target) -> its latest key, built from read on
	// the first call that needs it (names): an up-to-date run of ten
	// thousand targets never does, and builds one map, not three.
	byName map[string]string
	dirty  bool
}

// headLine is one target's latest record as the heads file keeps it.
type headLine struct{ name, header string }

func (s *Store) headsPath() string { return filepath.Join(s.dir, "heads") }

// loadHeads reads the heads file once; a missing or damaged one is empty.
func (s *Store) loadHeads() *heads {
	h := &s.heads
	h.once.Do(func() {
		h.read, h.noted = map[string]headLine{}, map[string]headLine{}
		data, err := os.ReadFile(s.headsPath())
		if err != nil {
			return
		}
		first := bytes.IndexByte(data, '\n')
		if first < 0 || !bytes.HasPrefix(data, []byte(headsMagic)) {
			return
		}
		sum, err := strconv.ParseUint(string(data[len(headsMagic):first]), 16, 64)
		body := data[first+1:]
		if err != nil || sum != xxh3.Hash(body) {
			return
		}
		// Sized up front: growing a map of ten thousand keys rehashes it
		// several times. The strings are slices of the file's bytes,
		// which nothing writes to after this.
		h.read = make(map[string]headLine, bytes.Count(body, []byte("\n")))
		for line := range strings.SplitSeq(unsafe.String(unsafe.SliceData(body), len(body)), "\n") {
			key, rest, _ := strings.Cut(line, "\t")
			name, header, ok := strings.Cut(rest, "\t")
			if ok && validKey(key) {
				h.read[key] = headLine{name, header}
			}
		}
	})
	return h
}

// names returns byName, building it from the file as read on first use.
// h.mu is held.
func (h *heads) names() map[string]string {
	if h.byName == nil {
		h.byName = make(map[string]string, len(h.read))
		for key, l := range h.read {
			h.byName[l.name] = key
		}
	}
	return h.byName
}

// line returns what the heads file (as read, or as this run noted) keeps
// for key. h.mu is held.
func (h *heads) line(key string) (headLine, bool) {
	if l, ok := h.read[key]; ok {
		return l, true
	}
	l, ok := h.noted[key]
	return l, ok
}

// headHit is Hit from the heads file.
func (s *Store) headHit(key string) (*Record, bool) {
	h := s.loadHeads()
	h.mu.Lock()
	l, ok := h.line(key)
	h.mu.Unlock()
	if !ok {
		return nil, false
	}
	return parseHead(key, l.header)
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

// parseHead reads what formatHead wrote, for key, into the record Hit
// returns (without lines: their count is only checked), in one
// allocation rather than a header and then a record per target.
func parseHead(key, line string) (*Record, bool) {
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
	r := &Record{Key: key}
	var errs [6]error
	r.Target, errs[0] = unquoteField(f[0])
	r.Kind, errs[1] = unquoteField(f[1])
	r.Time, errs[2] = time.Parse(time.RFC3339Nano, f[2])
	d, err := strconv.ParseInt(f[3], 10, 64)
	r.Duration, errs[3] = time.Duration(d), err
	_, errs[4] = strconv.Atoi(f[4])
	outputs, err := unquoteField(f[5])
	if errs[5] = err; err == nil && outputs != "" {
		errs[5] = json.Unmarshal([]byte(outputs), &r.Outputs)
	}
	return r, errors.Join(errs[:]...) == nil
}

// noteHead makes key target's latest used record for the next run's
// heads file.
func (s *Store) noteHead(rh *recordHeader) {
	h := s.loadHeads()
	target, key, header := rh.Target, rh.Key, formatHead(rh)
	name := nameHash(target)
	h.mu.Lock()
	defer h.mu.Unlock()
	byName := h.names()
	if byName[name] == key {
		return
	}
	byName[name] = key
	h.noted[key] = headLine{name, header}
	h.dirty = true
}

// latestOf is the key of the target whose name hash is name, from the
// heads file as read or as this run changed it.
func (s *Store) latestOf(name string) (string, bool) {
	h := s.loadHeads()
	h.mu.Lock()
	defer h.mu.Unlock()
	key, ok := h.names()[name]
	return key, ok
}

// inHeads says whether key is a target's latest in the heads file, as
// read (read) or as it will be written: Prune keeps those records, so
// Touch need not mark the ones read as used.
func (s *Store) inHeads(key string, read bool) bool {
	h := s.loadHeads()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.read[key]; read && !ok {
		return false
	}
	if h.byName == nil { // no target's latest changed: the file as read
		_, ok := h.read[key]
		return ok
	}
	l, ok := h.line(key)
	return ok && h.byName[l.name] == key
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
	byName := h.names()
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var body bytes.Buffer
	for _, n := range names {
		key := byName[n]
		l, _ := h.line(key)
		body.WriteString(key + "\t" + n + "\t" + l.header + "\n")
	}
	out := append([]byte(headsMagic), strconv.FormatUint(xxh3.Hash(body.Bytes()), 16)...)
	out = append(append(out, '\n'), body.Bytes()...)
	if err := writeAtomic(s.headsPath(), out); err != nil {
		return err
	}
	h.dirty = false
	return nil
}
