package taskfile

import (
	"bytes"
	"encoding/gob"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	"github.com/zeebo/xxh3"

	"github.com/dtask-dev/dtask/internal/atomicfile"
)

// Parsed keeps a decoded and validated task file between runs, so that a
// run of a large, unchanged file skips the TOML decoding, the key
// positions and the checks: for ten thousand targets those cost several
// times what deciding that every target is up to date does.
//
// The file is a line "dtask-parsed-2 IDENTITY" and then the model in gob,
// without the positions of keys (found again from the text on an error).
// IDENTITY is a hash of the task file's bytes, its path and name, and
// Build, so that an edit, a move or another dtask build is a miss.
type Parsed struct {
	// Path is where the model is kept (in the state folder); it is written
	// only when its folder exists.
	Path string
	// Build names the dtask build: a model kept by another build is never used.
	Build string
}

const parsedMagic = "dtask-parsed-2 "

func (pc *Parsed) identity(abs, name string, data []byte) string {
	h := xxh3.New()
	for _, s := range []string{abs, name, pc.Build} {
		h.WriteString(strconv.Itoa(len(s)) + ":" + s)
	}
	h.Write(data)
	sum := h.Sum128().Bytes()
	return parsedMagic + hex.EncodeToString(sum[:]) + "\n"
}

// load returns the model kept for these bytes, or nil.
func (pc *Parsed) load(abs, name string, data []byte) *File {
	if pc == nil || pc.Path == "" {
		return nil
	}
	kept, err := os.ReadFile(pc.Path)
	id := pc.identity(abs, name, data)
	if err != nil || !bytes.HasPrefix(kept, []byte(id)) {
		return nil
	}
	f := &File{}
	if gob.NewDecoder(bytes.NewReader(kept[len(id):])).Decode(f) != nil {
		return nil
	}
	f.name, f.pos = name, unlocated(data)
	return f
}

// save keeps f for the next run. A model that does not come back from gob
// exactly as it is (gob drops empty lists and maps, which a key tells
// from absent ones) is not kept: such a file is decoded every run.
func (pc *Parsed) save(abs, name string, data []byte, f *File) {
	if pc == nil || pc.Path == "" || len(f.Compose) > 0 || f.composeFailed {
		return // compose files are read afresh: they are not in the identity
	}
	if fi, err := os.Stat(filepath.Dir(pc.Path)); err != nil || !fi.IsDir() {
		return
	}
	id := pc.identity(abs, name, data)
	var buf bytes.Buffer
	buf.WriteString(id)
	if gob.NewEncoder(&buf).Encode(f) != nil {
		return
	}
	check := &File{}
	if gob.NewDecoder(bytes.NewReader(buf.Bytes()[len(id):])).Decode(check) != nil {
		return
	}
	check.name, check.pos = f.name, f.pos
	if !reflect.DeepEqual(check, f) {
		return
	}
	// Losing the write costs only a decode next run.
	_ = atomicfile.Write(pc.Path, buf.Bytes(), atomicfile.Beside(pc.Path))
}
