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
	var chunk []byte
	n := 0
	for i, l := range lines {
		chunk = appendLine(chunk, l)
		n++
		if i < len(lines)-1 && n < chunkMax && xxh3.HashString(l.Label)%chunkSpread != 0 {
			continue
		}
		name, err := s.putChunk(chunk)
		if err != nil {
			return err
		}
		body.WriteString("@" + name + "\t")
		body.WriteString(itoa(n))
		body.WriteByte('\n')
		chunk, n = chunk[:0], 0
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

// putChunk stores data under its hash unless it is there already, in
// which case it is marked used now so that pruning keeps it.
func (s *Store) putChunk(data []byte) (string, error) {
	sum := xxh3.Hash128(data).Bytes()
	name := hex.EncodeToString(sum[:])
	p := s.chunkPath(name)
	if _, err := os.Lstat(p); err == nil {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
		return name, nil
	}
	return name, s.writeIn(p, data)
}

func (s *Store) chunkPath(name string) string {
	return filepath.Join(s.dir, "chunks", name[:2], name)
}

// readLines parses a record's lines, reading the chunks they name. A
// missing or damaged chunk makes the record corrupt: a miss.
func (s *Store) readLines(out *[]Line, text string) error {
	return parseLines(out, text, func(name string, n int) error {
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
	})
}
