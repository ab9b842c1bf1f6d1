// Command hashbench measures the cache package on the no-op benchmark's
// tree without the dtask CLI: a whole no-op pass as one process (noop),
// each step of it in process (steps), and cold hashing throughput (cold).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/dtask-dev/dtask/engine/cache"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: hashbench [-n N] [-par] noop|steps|cold DIR  (DIR holds Taskfile.toml and src/)")
	}
	runs := flag.Int("n", 15, "repetitions for steps and cold")
	par := flag.Bool("par", false, "noop: look files up with HashAll (parallel) instead of a Hash per file")
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	// Absolute, as the engine's folders are.
	dir, err := filepath.Abs(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashbench:", err)
		os.Exit(1)
	}
	switch flag.Arg(0) {
	case "noop":
		_, err = noop(dir, *par)
	case "steps":
		err = steps(dir, *runs)
	case "cold":
		err = cold(dir, *runs)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hashbench:", err)
		os.Exit(1)
	}
}

type taskfile struct {
	Targets map[string]struct {
		Sources []string `toml:"sources"`
		Sh      string   `toml:"sh"`
	} `toml:"targets"`
}

// timings of one no-op pass, step by step.
type timings struct {
	load, index, glob, stat, key, get, save time.Duration
	files                                   int
	hit                                     bool
}

// noop does what a no-op `dtask noop` does in the cache package: load the
// task file, open the state, glob, look every file up in the index (a
// stat each), build the key and find its record. The first pass records
// a success; later ones hit. parallel uses HashAll instead of a Hash per
// file (what engine.Plan.Files does today).
func noop(dir string, parallel bool) (timings, error) {
	var t timings
	start := time.Now()
	var tf taskfile
	if _, err := toml.DecodeFile(filepath.Join(dir, "Taskfile.toml"), &tf); err != nil {
		return t, err
	}
	target := tf.Targets["noop"]
	store, err := cache.OpenStore(filepath.Join(dir, ".dtask-hashbench"))
	if err != nil {
		return t, err
	}
	t.load = time.Since(start)

	start = time.Now()
	ix := cache.OpenIndex(store.IndexPath())
	t.index = time.Since(start)

	start = time.Now()
	files, err := ix.Glob(dir, target.Sources)
	if err != nil {
		return t, err
	}
	t.files = len(files)
	t.glob = time.Since(start)

	start = time.Now()
	sums, err := hashFiles(ix, dir, files, parallel)
	if err != nil {
		return t, err
	}
	t.stat = time.Since(start)

	start = time.Now()
	k := cache.NewKey("noop")
	k.Add("kind", "sh")
	k.Add("def.sh", fmt.Sprintf("%q", target.Sh))
	for i, f := range files {
		k.Add("src "+f, sums[i])
	}
	key := k.Sum()
	t.key = time.Since(start)

	start = time.Now()
	_, t.hit = store.Get(key)
	t.get = time.Since(start)

	start = time.Now()
	if !t.hit {
		if err := store.Put(&cache.Record{Target: "noop", Kind: "sh", Key: key, Time: time.Now(), Lines: k.Lines()}); err != nil {
			return t, err
		}
	}
	err = ix.Save()
	t.save = time.Since(start)
	return t, err
}

// hashFiles hashes files (relative to dir) through the index, all at once
// or one by one.
func hashFiles(ix *cache.Index, dir string, files []string, parallel bool) ([]string, error) {
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(dir, filepath.FromSlash(f))
	}
	if parallel {
		return ix.HashAll(abs)
	}
	sums := make([]string, len(abs))
	for i, a := range abs {
		var err error
		if sums[i], err = ix.Hash(a); err != nil {
			return nil, err
		}
	}
	return sums, nil
}

func steps(dir string, runs int) error {
	for _, parallel := range []bool{false, true} {
		var all []timings
		for i := 0; i < runs+2; i++ {
			t, err := noop(dir, parallel)
			if err != nil {
				return err
			}
			if i >= 2 { // the first passes settle the index and the record
				all = append(all, t)
			}
		}
		med := func(f func(timings) time.Duration) time.Duration {
			d := make([]time.Duration, len(all))
			for i, t := range all {
				d[i] = f(t)
			}
			slices.Sort(d)
			return d[len(d)/2]
		}
		how := "Hash per file"
		if parallel {
			how = "HashAll"
		}
		fmt.Printf("in-process no-op (%s, %d files, hit=%v), medians of %d:\n", how, all[0].files, all[len(all)-1].hit, len(all))
		fmt.Printf("  toml+store %8s\n  index load %8s\n  glob       %8s\n  stat+index %8s\n  key        %8s\n  record get %8s\n  save       %8s\n  total      %8s\n",
			med(func(t timings) time.Duration { return t.load }),
			med(func(t timings) time.Duration { return t.index }),
			med(func(t timings) time.Duration { return t.glob }),
			med(func(t timings) time.Duration { return t.stat }),
			med(func(t timings) time.Duration { return t.key }),
			med(func(t timings) time.Duration { return t.get }),
			med(func(t timings) time.Duration { return t.save }),
			med(func(t timings) time.Duration {
				return t.load + t.index + t.glob + t.stat + t.key + t.get + t.save
			}))
	}
	return nil
}

// cold globs and hashes every source file with an empty index (the first
// run on a fresh checkout; the files are in the page cache).
func cold(dir string, runs int) error {
	files, err := cache.Glob(dir, []string{"src/**/*"})
	if err != nil {
		return err
	}
	abs := make([]string, len(files))
	var total int64
	for i, f := range files {
		abs[i] = filepath.Join(dir, filepath.FromSlash(f))
		fi, err := os.Stat(abs[i])
		if err != nil {
			return err
		}
		total += fi.Size()
	}
	for _, parallel := range []bool{true, false} {
		var d []time.Duration
		for range runs {
			ix := cache.OpenIndex(filepath.Join(os.TempDir(), "hashbench-no-such-index"))
			start := time.Now()
			if _, err := ix.Glob(dir, []string{"src/**/*"}); err != nil {
				return err
			}
			if parallel {
				_, err = ix.HashAll(abs)
			} else {
				for _, a := range abs {
					if _, err = ix.Hash(a); err != nil {
						break
					}
				}
			}
			if err != nil {
				return err
			}
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		how := "HashAll, parallel"
		if !parallel {
			how = "Hash per file, serial"
		}
		mbs := float64(total) / d[len(d)/2].Seconds() / 1e6
		fmt.Printf("cold hashing (%s): %d files, %.1f MB in %s (median of %d): %.0f MB/s\n",
			how, len(abs), float64(total)/1e6, d[len(d)/2].Round(10*time.Microsecond), runs, mbs)
	}
	return nil
}
