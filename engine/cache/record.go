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
// newline or starts with a quote). It stays readable, yet ten thousand
// source lines parse far faster than they would as JSON objects.
const recordMagic = "dtask-record-1 "

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

func encodeRecord(rec *Record) []byte {
	var body bytes.Buffer
	h, _ := json.Marshal(recordHeader{
		Target: rec.Target, Kind: rec.Kind, Key: rec.Key, Time: rec.Time,
		Duration: rec.Duration, Outputs: rec.Outputs, Lines: len(rec.Lines),
	})
	body.Write(h)
	body.WriteByte('\n')
	for _, l := range rec.Lines {
		body.WriteString(quoteField(l.Label))
		body.WriteByte('\t')
		body.WriteString(quoteField(compactValue(l.Value)))
		body.WriteByte('\n')
	}
	out := make([]byte, 0, len(recordMagic)+17+body.Len())
	out = append(out, recordMagic...)
	out = strconv.AppendUint(out, xxh3.Hash(body.Bytes()), 16)
	out = append(out, '\n')
	return append(out, body.Bytes()...)
}

func decodeRecord(data []byte) (*Record, error) {
	first := bytes.IndexByte(data, '\n')
	if first < 0 || !bytes.HasPrefix(data, []byte(recordMagic)) {
		return nil, errCorrupt
	}
	sum, err := strconv.ParseUint(string(data[len(recordMagic):first]), 16, 64)
	body := data[first+1:]
	if err != nil || sum != xxh3.Hash(body) {
		return nil, errCorrupt
	}
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return nil, errCorrupt
	}
	var h recordHeader
	if err := json.Unmarshal(body[:nl], &h); err != nil {
		return nil, errCorrupt
	}
	rec := &Record{Target: h.Target, Kind: h.Kind, Key: h.Key, Time: h.Time,
		Duration: h.Duration, Outputs: h.Outputs, Lines: make([]Line, 0, h.Lines)}
	// Line strings are slices of the file's bytes, which nothing writes to
	// after this (unquoted fields get their own).
	rest := unsafe.String(unsafe.SliceData(body[nl+1:]), len(body)-nl-1)
	for rest != "" {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok {
			return nil, errCorrupt
		}
		rest = after
		label, value, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, errCorrupt
		}
		if label, err = unquoteField(label); err != nil {
			return nil, errCorrupt
		}
		if value, err = unquoteField(value); err != nil {
			return nil, errCorrupt
		}
		rec.Lines = append(rec.Lines, Line{label, value})
	}
	if len(rec.Lines) != h.Lines {
		return nil, errCorrupt
	}
	return rec, nil
}

func quoteField(s string) string {
	if strings.HasPrefix(s, `"`) || strings.ContainsAny(s, "\t\n\r") {
		return strconv.Quote(s)
	}
	return s
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
