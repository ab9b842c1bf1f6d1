package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// A record file is a checksum line, a JSON header and then one
// "label<TAB>value" line per key line (quoted when it holds a tab, a
// newline or starts with a quote or an @). It stays readable, yet ten
// thousand source lines parse far faster than they would as JSON objects.
//
// A long record keeps its lines in chunks (chunk.go): a line
// "@HASH<TAB>COUNT" stands for COUNT lines stored once under chunks/, and
// "@@HASH<TAB>COUNT" for a set under sets/ that names such chunks (or
// sets) holding COUNT lines in all.
const recordMagic = "dtask-record-2 "

// maxValue is the longest line value a record keeps as is; longer ones are
// kept as their hash.
const maxValue = 512

type recordHeader struct {
	Target   string            `json:"target"`
	Kind     string            `json:"kind"`
	Key      string            `json:"key"`
	Time     time.Time         `json:"time"`
	Duration time.Duration     `json:"duration"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Lines    int               `json:"lines"`
}

var errCorrupt = errors.New("corrupt record")

// encode writes rec's chunks (those not stored yet) and returns the
// record file's bytes.
func (s *Store) encode(rec *Record) ([]byte, error) {
	var body bytes.Buffer
	h, _ := json.Marshal(headerOf(rec))
	body.Write(h)
	body.WriteByte('\n')
	if err := s.writeLines(&body, rec.lineKey()); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(recordMagic)+17+body.Len())
	out = append(out, recordMagic...)
	out = strconv.AppendUint(out, xxh3.Hash(body.Bytes()), 16)
	out = append(out, '\n')
	return append(out, body.Bytes()...), nil
}

// appendLine appends a record's line: "label<TAB>value", each quoted if
// it must be.
func appendLine(b []byte, label, value string) []byte {
	b = appendField(b, label)
	b = append(b, '\t')
	b = appendField(b, compactValue(value))
	return append(b, '\n')
}

func appendField(b []byte, s string) []byte {
	if mustQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// checkRecord verifies the checksum and returns the header and the lines'
// text.
func checkRecord(data []byte) (*recordHeader, string, error) {
	first := bytes.IndexByte(data, '\n')
	if first < 0 || !bytes.HasPrefix(data, []byte(recordMagic)) {
		return nil, "", errCorrupt
	}
	sum, err := strconv.ParseUint(string(data[len(recordMagic):first]), 16, 64)
	body := data[first+1:]
	if err != nil || sum != xxh3.Hash(body) {
		return nil, "", errCorrupt
	}
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return nil, "", errCorrupt
	}
	var h recordHeader
	if err := json.Unmarshal(body[:nl], &h); err != nil {
		return nil, "", errCorrupt
	}
	// Line strings are slices of the file's bytes, which nothing writes to
	// after this (unquoted fields get their own).
	rest := unsafe.String(unsafe.SliceData(body[nl+1:]), len(body)-nl-1)
	return &h, rest, nil
}

// headerOf is the header of rec's record file.
func headerOf(rec *Record) *recordHeader {
	return &recordHeader{Target: rec.Target, Kind: rec.Kind, Key: rec.Key, Time: rec.Time,
		Duration: rec.Duration, Outputs: rec.Outputs, Lines: rec.lineKey().Len()}
}

func (h *recordHeader) record() *Record {
	return &Record{Target: h.Target, Kind: h.Kind, Key: h.Key, Time: h.Time,
		Duration: h.Duration, Outputs: h.Outputs}
}

// decode reads a record file and the chunks it names.
func (s *Store) decode(data []byte) (*Record, error) {
	h, rest, err := checkRecord(data)
	if err != nil {
		return nil, err
	}
	rec := h.record()
	rec.Lines = make([]Line, 0, h.Lines)
	if err := s.readLines(&rec.Lines, rest); err != nil {
		return nil, err
	}
	if len(rec.Lines) != h.Lines {
		return nil, errCorrupt
	}
	return rec, nil
}

// parseLines appends the "label<TAB>value" lines of text to *out; chunk
// and set references go to ref (nil: none allowed).
func parseLines(out *[]Line, text string, ref func(name string, n int, set bool) error) error {
	for text != "" {
		line, after, ok := strings.Cut(text, "\n")
		if !ok {
			return errCorrupt
		}
		text = after
		label, value, ok := strings.Cut(line, "\t")
		if !ok {
			return errCorrupt
		}
		if strings.HasPrefix(label, "@") {
			n, err := strconv.Atoi(value)
			if ref == nil || err != nil {
				return errCorrupt
			}
			name, set := strings.CutPrefix(label[1:], "@")
			if err := ref(name, n, set); err != nil {
				return err
			}
			continue
		}
		var err error
		if label, err = unquoteField(label); err != nil {
			return errCorrupt
		}
		if value, err = unquoteField(value); err != nil {
			return errCorrupt
		}
		*out = append(*out, Line{label, value})
	}
	return nil
}

func quoteField(s string) string {
	if mustQuote(s) {
		return strconv.Quote(s)
	}
	return s
}

// mustQuote says whether a field is quoted: it starts with a quote or an
// @, or holds a tab or a line break.
func mustQuote(s string) bool {
	return strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "@") || hasBreak(s)
}

// hasBreak says whether s holds a tab, a line feed or a carriage return.
// It tests eight bytes at a time for one below 14 and looks closer only
// then: a miss checks the fields of 100,000 lines, and a scan per
// character (ContainsAny) was half of cutting them into chunks.
func hasBreak(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x-ones*14)&^x&highs != 0 && strings.ContainsAny(s[i:i+8], "\t\n\r") {
			return true
		}
	}
	return strings.ContainsAny(s[i:], "\t\n\r")
}

func unquoteField(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}

// compactValue keeps long values as their hash: a record needs only to
// tell whether a value changed, not what it was.
func compactValue(v string) string {
	if len(v) <= maxValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "#sha256:" + hex.EncodeToString(sum[:])
}
