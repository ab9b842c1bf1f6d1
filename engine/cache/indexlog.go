package cache

import (
	"bytes"
	"encoding/binary"
	"os"

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
