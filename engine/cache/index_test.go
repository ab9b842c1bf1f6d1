package cache

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
	"golang.org/x/sys/unix"
)

func xxh(b []byte) string {
	s := xxh3.Hash128(b).Bytes()
	return hex.EncodeToString(s[:])
}

func mustHash(t *testing.T, ix *Index, p string) string {
	t.Helper()
	s, err := ix.Hash(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIndexHashIsContentHash(t *testing.T) {
	dir := t.TempDir()
	ix := OpenIndex(filepath.Join(dir, "index"))
	for _, size := range []int{0, 1, 4096, readBufSize - 1, readBufSize, readBufSize + 1, 3*readBufSize + 17} {
		b := make([]byte, size)
		rand.Read(b)
		p := filepath.Join(dir, fmt.Sprintf("f%d", size))
		os.WriteFile(p, b, 0o644)
		if got, want := mustHash(t, ix, p), xxh(b); got != want {
			t.Errorf("size %d: hash %s, want xxh3-128 %s", size, got, want)
		}
	}
	if _, err := ix.Hash(filepath.Join(dir, "missing")); err == nil {
		t.Error("hashing a missing file gave no error")
	}
	if _, err := ix.Hash(dir); err == nil {
		t.Error("hashing a folder gave no error")
	}
}

func TestIndexReuse(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	p := write(t, dir, "src/a.js", "hello", time.Hour)

	ix := OpenIndex(ipath)
	h1 := mustHash(t, ix, p)
	if h2 := mustHash(t, ix, p); h2 != h1 || ix.reads.Load() != 1 {
		t.Fatalf("second Hash: %s (reads %d), want %s with 1 read", h2, ix.reads.Load(), h1)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}

	// Another run: the saved index answers without reading the file.
	ix = OpenIndex(ipath)
	if h := mustHash(t, ix, p); h != h1 || ix.reads.Load() != 0 {
		t.Fatalf("after reload: %s with %d reads, want %s with none", h, ix.reads.Load(), h1)
	}

	// A touch: same content, so the same hash; read once, then trusted.
	touched := time.Now().Add(-30 * time.Minute)
	os.Chtimes(p, touched, touched)
	if h := mustHash(t, ix, p); h != h1 || ix.reads.Load() != 1 {
		t.Fatalf("after touch: %s with %d reads, want %s with 1", h, ix.reads.Load(), h1)
	}
	mustHash(t, ix, p)
	if ix.reads.Load() != 1 {
		t.Fatalf("touched file read again: %d reads", ix.reads.Load())
	}

	// A real change is seen.
	write(t, dir, "src/a.js", "hello, world", time.Hour)
	if h := mustHash(t, ix, p); h == h1 || h != xxh([]byte("hello, world")) {
		t.Fatalf("changed file: %s", h)
	}
}

// sameTick makes the index entry's stat equal the file's current stat,
// as if the rewrite had happened within the same timestamp tick (when size,
// mtime and ctime all stay as they were).
func sameTick(t *testing.T, ix *Index, p string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	ix.mu.Lock()
	e, _ := ix.get(p)
	e.stat = statOf(&st)
	ix.set(p, e)
	ix.mu.Unlock()
}

func TestIndexRacy(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")

	// Fresh file: its mtime is within the racy window of the read.
	p := write(t, dir, "fresh", "aaaa", 0)
	ix := OpenIndex(ipath)
	h1 := mustHash(t, ix, p)
	write(t, dir, "fresh", "bbbb", 0)
	sameTick(t, ix, p)
	if h := mustHash(t, ix, p); h == h1 || h != xxh([]byte("bbbb")) {
		t.Fatalf("file rewritten in the same tick: hash %s, want the new content's", h)
	}
	if ix.reads.Load() != 2 {
		t.Fatalf("reads = %d, want 2", ix.reads.Load())
	}

	// The racy mark survives a save: the next run re-reads too.
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	ix = OpenIndex(ipath)
	mustHash(t, ix, p)
	if ix.reads.Load() != 1 {
		t.Fatalf("racy entry trusted after reload (reads %d)", ix.reads.Load())
	}

	// Control: an old file in the same situation is trusted, which is what
	// makes the racy rule necessary.
	q := write(t, dir, "old", "aaaa", time.Hour)
	ix = OpenIndex(ipath)
	h1 = mustHash(t, ix, q)
	os.WriteFile(q, []byte("bbbb"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(q, old, old)
	sameTick(t, ix, q)
	if h := mustHash(t, ix, q); h != h1 || ix.reads.Load() != 1 {
		t.Fatalf("old entry re-read (hash %s, reads %d); the control is broken", h, ix.reads.Load())
	}
}

func TestIndexDamaged(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	var files []string
	for i := range 20 {
		files = append(files, write(t, dir, fmt.Sprintf("f%d", i), fmt.Sprint(i), time.Hour))
	}
	ix := OpenIndex(ipath)
	for _, f := range files {
		mustHash(t, ix, f)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(ipath)
	if ix := OpenIndex(ipath); ix.count() != 20 {
		t.Fatalf("reloaded %d entries, want 20", ix.count())
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)/2] ^= 1
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"flipped":   flip,
		"garbage":   []byte("not an index at all, not at all"),
		"empty":     {},
		"magic":     []byte(indexMagic),
	} {
		os.WriteFile(ipath, data, 0o644)
		ix := OpenIndex(ipath)
		if ix.count() != 0 {
			t.Errorf("%s index: %d entries loaded", name, ix.count())
		}
		if h := mustHash(t, ix, files[3]); h != xxh([]byte("3")) || ix.reads.Load() != 1 {
			t.Errorf("%s index: hash %s after %d reads", name, h, ix.reads.Load())
		}
	}
}

func TestIndexSaveOnlyIfChanged(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	p := write(t, dir, "a", "a", time.Hour)
	ix := OpenIndex(ipath)
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ipath); !os.IsNotExist(err) {
		t.Fatal("an unchanged empty index was written")
	}
	mustHash(t, ix, p)
	ix.Save()
	before := stamps(ipath, ipath+".log")
	ix = OpenIndex(ipath)
	mustHash(t, ix, p)
	ix.Save()
	if after := stamps(ipath, ipath+".log"); after != before {
		t.Error("a no-op run wrote the index")
	}
}

func stamps(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s %d %d;", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// One edit among 10,000 files appends a few hundred bytes; the log is
// folded into the index once it has grown, and a torn segment is skipped.
func TestIndexLog(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	var files []string
	for i := range 10000 {
		files = append(files, write(t, dir, fmt.Sprintf("src/%d/f%d", i/100, i), "x", time.Hour))
	}
	ix := OpenIndex(ipath)
	if _, err := ix.HashAll(files); err != nil {
		t.Fatal(err)
	}
	ix.Save()
	size := func(p string) int64 { fi, _ := os.Stat(p); return fi.Size() }
	base, log0 := size(ipath), size(ipath+".log")
	if log0 != 0 {
		t.Errorf("the first save left a log of %d bytes (want it compacted)", log0)
	}
	for i := range 3 {
		write(t, dir, fmt.Sprintf("src/0/f%d", i), fmt.Sprint("edit", i), time.Hour-time.Duration(i+1)*time.Second)
		ix := OpenIndex(ipath)
		if _, err := ix.HashAll(files); err != nil {
			t.Fatal(err)
		}
		ix.Save()
	}
	if grown := size(ipath + ".log"); grown > 3*512 || size(ipath) != base {
		t.Errorf("three edits: log %d bytes, index %d -> %d", grown, base, size(ipath))
	}
	// A torn segment at the end, then a good one after it.
	f, _ := os.OpenFile(ipath+".log", os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte(segMagic + "\x40\x00\x00\x00torn"))
	f.Close()
	write(t, dir, "src/0/f9", "edit9", time.Hour-time.Minute)
	ix = OpenIndex(ipath)
	ix.HashAll(files)
	ix.Save()
	ix = OpenIndex(ipath)
	n := ix.reads.Load()
	sums, _ := ix.HashAll(files)
	if got := ix.reads.Load() - n; got != 0 {
		t.Errorf("after a torn segment, %d files were re-read", got)
	}
	if sums[9] != xxh([]byte("edit9")) || sums[1] != xxh([]byte("edit1")) {
		t.Error("the log's entries were lost")
	}
}

func TestIndexMerge(t *testing.T) {
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	a := write(t, dir, "a", "a", time.Hour)
	b := write(t, dir, "b", "b", time.Hour)
	ix1, ix2 := OpenIndex(ipath), OpenIndex(ipath)
	mustHash(t, ix1, a)
	mustHash(t, ix2, b)
	if err := ix1.Save(); err != nil {
		t.Fatal(err)
	}
	if err := ix2.Save(); err != nil {
		t.Fatal(err)
	}
	ix := OpenIndex(ipath)
	if ix.count() != 2 {
		t.Fatalf("after two processes saved, index has %d entries, want 2", ix.count())
	}
}

func TestIndexConcurrent(t *testing.T) {
	dir := t.TempDir()
	var files []string
	var want []string
	for i := range 300 {
		c := fmt.Sprintf("content %d", i)
		files = append(files, write(t, dir, fmt.Sprintf("d%d/f%d", i%7, i), c, time.Hour))
		want = append(want, xxh([]byte(c)))
	}
	ix := OpenIndex(filepath.Join(dir, "index"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := ix.HashAll(files)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %s, want %s", files[i], got[i], want[i])
				}
			}
		})
		wg.Go(func() {
			for _, f := range files[:50] {
				if _, err := ix.Hash(f); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := ix.HashAll(append(files, filepath.Join(dir, "nope"))); err == nil {
		t.Error("HashAll with a missing file gave no error")
	}
}

// An index file whose entries are not in path order (an older dtask wrote
// them in map order) still answers for every path.
func TestIndexUnsortedFileLoads(t *testing.T) {
	today := uint32(time.Now().Unix() / 86400)
	b := []byte(indexMagic)
	b = append(b, 3)
	for i, p := range []string{"/c", "/a", "/b"} {
		one := appendEntries(nil, map[string]*entry{p: {used: today - uint32(i)}})
		b = append(b, one[1:]...) // without its count
	}
	b = binary.LittleEndian.AppendUint64(b, xxh3.Hash(b))
	base, ok := decodeIndex(b)
	if !ok {
		t.Fatal("unsorted index refused")
	}
	for i, p := range []string{"/c", "/a", "/b"} {
		if e, ok := base.find(p); !ok || e.used != today-uint32(i) {
			t.Errorf("%s: %v %v", p, e, ok)
		}
	}
	if _, ok := base.find("/d"); ok {
		t.Error("found a path the index does not hold")
	}
	// The next save that changes anything rewrites it in path order.
	dir := t.TempDir()
	ipath := filepath.Join(dir, "index")
	os.WriteFile(ipath, b, 0o600)
	ix := OpenIndex(ipath)
	mustHash(t, ix, write(t, dir, "f", "x", time.Hour))
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	if ix := OpenIndex(ipath); ix.file.unsorted() || ix.count() != 4 {
		t.Errorf("after a save: unsorted %v, %d entries, want sorted and 4", ix.file.unsorted(), ix.count())
	}
}

// A loaded index answers for each path exactly, whether it holds the
// file whole or reads it a block at a time: in path order, out of it,
// across blocks, and not for a path it does not hold (before the first,
// between two, after the last, one that only starts like one of them);
// compaction gets every entry back.
func TestIndexBlocks(t *testing.T) {
	m := map[string]*entry{}
	var paths []string
	for i := range 3*blockEntries + 5 {
		p := fmt.Sprintf("/proj/src/d%d/f%03d", i%4, i)
		paths = append(paths, p)
		m[p] = &entry{used: uint32(i + 1)}
	}
	slices.Sort(paths)
	data := encodeIndex(m)
	whole, ok := decodeIndex(data)
	if !ok {
		t.Fatal("index refused")
	}
	read, ok := readBase(bytes.NewReader(data), nil, int64(len(data)))
	if !ok {
		t.Fatal("index refused when read by blocks")
	}
	for name, base := range map[string]*baseIndex{"whole": whole, "blocks": read} {
		check := func(p string) {
			if e, ok := base.find(p); !ok || e.used != m[p].used {
				t.Errorf("%s: %s: %v %v", name, p, e, ok)
			}
		}
		for _, p := range paths {
			check(p)
		}
		for i := len(paths) - 1; i >= 0; i -= 7 {
			check(paths[i])
		}
		for _, p := range []string{"/", "/proj/src/d0", "/proj/src/d0/f000/", "/proj/src/d0/f0000", "/proj/src/d1/f000", "/zz", "/proj/src/d3/f999"} {
			if _, ok := base.find(p); ok {
				t.Errorf("%s: found %s, which the index does not hold", name, p)
			}
		}
		all := map[string]*entry{}
		base.all(all)
		if len(all) != len(paths) {
			t.Fatalf("%s: all gave %d entries, want %d", name, len(all), len(paths))
		}
		for p, e := range m {
			if all[p] == nil || all[p].used != e.used {
				t.Errorf("%s: all: %s: %v", name, p, all[p])
			}
		}
	}
}

// An index file too large to hold whole is read a block at a time from
// the file opened at load: a compaction by another process, which renames
// a new file over the path, does not change what this one answers.
func TestIndexLargeFileReadByBlocks(t *testing.T) {
	m := map[string]*entry{}
	for i := 0; len(m)*100 < keepWhole+keepWhole/4; i++ {
		m[fmt.Sprintf("/proj/src/d%03d/f%06d.go", i%500, i)] = &entry{used: uint32(i + 1)}
	}
	ipath := filepath.Join(t.TempDir(), "index")
	if err := writeAtomic(ipath, encodeIndex(m)); err != nil {
		t.Fatal(err)
	}
	ix := OpenIndex(ipath)
	if ix.file == nil || ix.file.whole != nil {
		t.Fatalf("index of %d entries held whole", len(m))
	}
	if err := writeAtomic(ipath, encodeIndex(map[string]*entry{"/other": {used: 1}})); err != nil {
		t.Fatal(err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for p, want := range m {
		if e, ok := ix.get(p); !ok || e.used != want.used {
			t.Fatalf("%s: %v %v, want used %d", p, e, ok, want.used)
		}
	}
	if _, ok := ix.get("/other"); ok {
		t.Error("answered from the file renamed over the loaded one")
	}
}
