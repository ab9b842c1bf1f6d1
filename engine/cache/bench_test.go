package cache

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchTree is the no-op benchmark's tree (as scripts/bench/noop/gentree
// makes it): 10,000 files, about 43 MB. DTASK_BENCH_TREE names an existing
// one to skip generating it.
var benchTree = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("DTASK_BENCH_TREE"); d != "" {
		return d, nil
	}
	dir, err := os.MkdirTemp("", "dtask-bench-")
	if err != nil {
		return "", err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 8600)
	for i := range 10000 {
		d := filepath.Join(dir, "src", fmt.Sprintf("m%02d", i/1000), fmt.Sprintf("p%02d", (i/100)%10))
		switch {
		case i%7 == 0:
			d = filepath.Join(d, "sub")
		case i%11 == 0:
			d = filepath.Join(d, "sub", "deep")
		}
		os.MkdirAll(d, 0o755)
		b := buf[:rng.IntN(len(buf))]
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%04d.js", i)), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
})

func tree(b *testing.B) string {
	dir, err := benchTree()
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// noopPass is what a no-op run does in this package: load the index,
// glob, look every file up (a stat each), build the key, find the record.
func noopPass(b testing.TB, dir string, s *Store) bool {
	ix := OpenIndex(s.IndexPath())
	files, err := Glob(dir, []string{"src/**/*"})
	if err != nil {
		b.Fatal(err)
	}
	k := NewKey("noop")
	k.Add("kind", "sh")
	k.Add("def.sh", `"true"`)
	for _, f := range files {
		sum, err := ix.Hash(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			b.Fatal(err)
		}
		k.Add("src "+f, sum)
	}
	key := k.Sum()
	_, hit := s.Get(key)
	if !hit {
		s.Put(&Record{Target: "noop", Key: key, Lines: k.Lines()})
	}
	if err := ix.Save(); err != nil {
		b.Fatal(err)
	}
	return hit
}

func BenchmarkNoop(b *testing.B) {
	dir := tree(b)
	s, err := OpenStore(filepath.Join(b.TempDir(), ".dtask"))
	if err != nil {
		b.Fatal(err)
	}
	for range 3 {
		noopPass(b, dir, s) // settle racy entries and the record
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if !noopPass(b, dir, s) {
				b.Fatal("no-op pass missed")
			}
		}
	})
	ix := OpenIndex(s.IndexPath())
	files, _ := Glob(dir, []string{"src/**/*"})
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(dir, filepath.FromSlash(f))
	}
	b.Run("index-load", func(b *testing.B) {
		for b.Loop() {
			OpenIndex(s.IndexPath())
		}
	})
	b.Run("glob", func(b *testing.B) {
		for b.Loop() {
			Glob(dir, []string{"src/**/*"})
		}
	})
	// Without a Glob just before, Hash stats each file by its path.
	b.Run("hash-unprimed", func(b *testing.B) {
		for b.Loop() {
			for _, a := range abs {
				ix.Hash(a)
			}
		}
	})
	b.Run("glob+hash", func(b *testing.B) {
		for b.Loop() {
			ix.Glob(dir, []string{"src/**/*"})
			for _, a := range abs {
				ix.Hash(a)
			}
		}
	})
	b.Run("glob+hashall", func(b *testing.B) {
		for b.Loop() {
			ix.Glob(dir, []string{"src/**/*"})
			ix.HashAll(abs)
		}
	})
	sums, _ := ix.HashAll(abs)
	k := NewKey("noop")
	for i, f := range files {
		k.Add("src "+f, sums[i])
	}
	key := k.Sum()
	b.Run("key", func(b *testing.B) {
		for b.Loop() {
			k.Sum()
		}
	})
	s.Put(&Record{Target: "noop", Key: key, Lines: k.Lines()})
	b.Run("record-get", func(b *testing.B) {
		for b.Loop() {
			if _, ok := s.Get(key); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkColdHash globs and hashes the whole tree with an empty index:
// MB/s is the cold hashing throughput (files in the page cache).
func BenchmarkColdHash(b *testing.B) {
	dir := tree(b)
	files, _ := Glob(dir, []string{"src/**/*"})
	var abs []string
	var total int64
	for _, f := range files {
		a := filepath.Join(dir, filepath.FromSlash(f))
		fi, _ := os.Stat(a)
		total += fi.Size()
		abs = append(abs, a)
	}
	for _, mode := range []string{"parallel", "serial"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				ix := OpenIndex(filepath.Join(b.TempDir(), "none"))
				if _, err := Glob(dir, []string{"src/**/*"}); err != nil {
					b.Fatal(err)
				}
				if mode == "parallel" {
					if _, err := ix.HashAll(abs); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, a := range abs {
					if _, err := ix.Hash(a); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
