package cache

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"time"

	"github.com/zeebo/xxh3"
)

// Records of targets with many sources keep their lines in chunks named
// by their content: the records of successive edits share every chunk but
// the one holding the edited file's line, so an edit adds a few kilobytes
// to .dtask/ rather than a copy of the whole file list.
//
// A chunk ends after a line whose label hashes to a multiple of
// chunkSpread (or at chunkMax lines): boundaries depend on the lines
// themselves, so adding or removing a file changes one chunk, not every
// chunk after it.
const (
	chunkFrom   = 128 // records with fewer lines keep them inline
	chunkSpread = 128 // lines per chunk on average
	chunkMax    = 1024
)

// writeLines appends lines to body, inline or as chunk references.
func (s *Store) writeLines(body *bytes.Buffer, lines []Line) error {
	if len(lines) < chunkFrom {
		var b []byte
		for _, l := range lines {
			b = appendLine(b[:0], l)
			body.Write(b)
		}
		return nil
	}
	return splitChunks(lines, func(name string, data []byte, part []Line) error {
		if err := s.putChunk(name, data); err != nil {
			return err
		}
		body.WriteString("@" + name + "\t")
		body.WriteString(itoa(len(part)))
		body.WriteByte('\n')
		return nil
	})
}

// splitChunks cuts lines into chunks and calls fn with each one's name,
// bytes and lines.
func splitChunks(lines []Line, fn func(name string, data []byte, part []Line) error) error {
	var chunk []byte
	from := 0
	for i, l := range lines {
		chunk = appendLine(chunk, l)
		if i < len(lines)-1 && i+1-from < chunkMax && xxh3.HashString(l.Label)%chunkSpread != 0 {
			continue
		}
		sum := xxh3.Hash128(chunk).Bytes()
		if err := fn(hex.EncodeToString(sum[:]), chunk, lines[from:i+1]); err != nil {
			return err
		}
		chunk, from = chunk[:0], i+1
	}
	return nil
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// putChunk stores data under its name (its hash) unless it is there
// already, in which case it is marked used now so that pruning keeps it.
func (s *Store) putChunk(name string, data []byte) error {
	p := s.chunkPath(name)
	if _, err := os.Lstat(p); err == nil {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
		return nil
	}
	return s.writeIn(p, data)
}

func (s *Store) chunkPath(name string) string {
	return filepath.Join(s.dir, "chunks", name[:2], name)
}

// readLines parses a record's lines, reading the chunks they name. A
// missing or damaged chunk makes the record corrupt: a miss.
func (s *Store) readLines(out *[]Line, text string) error {
	return parseLines(out, text, func(name string, n int) error {
		return s.readChunk(out, name, n)
	})
}

func (s *Store) readChunk(out *[]Line, name string, n int) error {
	if len(name) != 32 || !validKey(name) {
		return errCorrupt
	}
	data, err := os.ReadFile(s.chunkPath(name))
	if err != nil {
		return errCorrupt
	}
	sum := xxh3.Hash128(data).Bytes()
	if hex.EncodeToString(sum[:]) != name {
		return errCorrupt
	}
	before := len(*out)
	if err := parseLines(out, string(data), nil); err != nil {
		return err
	}
	if len(*out)-before != n {
		return errCorrupt
	}
	return nil
}

// Why explains why cur differs from the target's latest recorded success,
// as Diff does, reading only the chunks that differ: an edit among 100,000
// files compares one chunk's lines, not all of them. ok is false when
// there is no readable latest record.
func (s *Store) Why(target string, cur []Line) (reasons []string, ok bool) {
	last, ok := s.latestKey(target)
	if !ok {
		return nil, false
	}
	data, ok := s.read(last)
	if !ok {
		return nil, false
	}
	h, text, err := checkRecord(data)
	if err != nil || h.Target != target {
		return nil, false
	}
	var old []Line
	refs := map[string]int{}
	var order []string
	if parseLines(&old, text, func(name string, n int) error {
		refs[name] = n
		order = append(order, name)
		return nil
	}) != nil {
		return nil, false
	}
	rest := cur
	if len(refs) > 0 && len(cur) >= chunkFrom {
		rest = nil
		_ = splitChunks(cur, func(name string, _ []byte, part []Line) error {
			if _, same := refs[name]; same {
				refs[name] = -1 // in both: its lines are equal
				return nil
			}
			rest = append(rest, part...)
			return nil
		})
	}
	for _, name := range order {
		if n := refs[name]; n >= 0 {
			if s.readChunk(&old, name, n) != nil {
				return nil, false
			}
		}
	}
	return diffLines(old, rest), true
}
