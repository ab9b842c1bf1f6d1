package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/zeebo/xxh3"
	"golang.org/x/sys/unix"
)

// A Save appends the entries this process changed to index.log rather
// than rewriting the index: an edit costs a few hundred bytes, not the
// whole file. Once the log outgrows a quarter of the index, a Save folds
// it in (compaction). A segment is
//
//	"dtaskseg" bodylen:4 body xxh3-64(body):8
//
// where body is count:uvarint and the entries as in the index file. A
// segment torn by a crash fails its checksum; reading resumes at the next
// "dtaskseg" that passes its own.
const segMagic = "dtaskseg"

// compactFrom is the smallest log worth folding into the index.
const compactFrom = 64 << 10

func encodeSegment(entries map[string]*entry) []byte {
	body := appendEntries(nil, entries)
	b := make([]byte, 0, len(segMagic)+4+len(body)+8)
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint64(b, xxh3.Hash(body))
}

// replayLog applies the log's segments to m in order.
func replayLog(data []byte, m map[string]*entry) {
	le := binary.LittleEndian
	for len(data) > 0 {
		at := bytes.Index(data, []byte(segMagic))
		if at < 0 {
			return
		}
		data = data[at:]
		ok := false
		if len(data) >= len(segMagic)+4+8 {
			n := int(le.Uint32(data[len(segMagic):]))
			end := len(segMagic) + 4 + n
			if n >= 0 && end+8 <= len(data) {
				body := data[len(segMagic)+4 : end]
				if xxh3.Hash(body) == le.Uint64(data[end:]) {
					seg := map[string]*entry{}
					if decodeEntries(body, seg) {
						for p, e := range seg {
							m[p] = e
						}
						data, ok = data[end+8:], true
					}
				}
			}
		}
		if !ok {
			data = data[1:] // torn or damaged: look for the next segment
		}
	}
}

// appendLog appends a segment to the log and returns the log's size.
func appendLog(path string, seg []byte) (int64, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if _, err := f.Write(seg); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Save appends what this process changed to the index's log, under an
// exclusive lock on PATH.lock, and folds the log into the index once it
// has grown (compact). Other processes' entries are never lost: each
// appends its own changes, and compaction re-reads the files first.
func (ix *Index) Save() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.changed) == 0 {
		return nil
	}
	if err := ix.save(); err != nil {
		return fmt.Errorf("saving index %s: %w", ix.path, err)
	}
	return nil
}

func (ix *Index) save() error {
	unlock, err := lockFile(nil, ix.path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	logSize, err := appendLog(ix.path+".log", encodeSegment(ix.changed))
	if err != nil {
		return err
	}
	ix.changed = map[string]*entry{}
	// No index file yet (or a damaged one): make it now.
	// An index file out of path order (an older dtask's) is rewritten.
	if ix.base > 0 && !ix.file.unsorted() && logSize < max(compactFrom, ix.base/4) {
		return nil
	}
	return ix.compact()
}

// compact rewrites the index from the index and its log as they are on
// disk (this process's changes are in the log already), dropping entries
// no run has looked at for a month, and empties the log.
func (ix *Index) compact() error {
	file, merged, _, _ := readIndex(ix.path)
	all := make(map[string]*entry, file.len()+len(merged))
	file.all(all)
	maps.Copy(all, merged)
	merged = all
	cutoff := uint32(time.Now().Add(-unusedFor).Unix() / 86400)
	for p, e := range merged {
		if e.used < cutoff {
			delete(merged, p)
		}
	}
	data := encodeIndex(merged)
	if err := writeAtomic(ix.path, data); err != nil {
		return err
	}
	// A crash before this leaves a log whose entries the index holds
	// already: replaying it again changes nothing.
	if err := os.Truncate(ix.path+".log", 0); err != nil {
		return err
	}
	ix.base = int64(len(data))
	if ix.file != nil {
		ix.file.sorted = true // on disk now; in memory it was sorted on load
	}
	return nil
}
