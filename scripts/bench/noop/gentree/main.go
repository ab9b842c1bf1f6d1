// Command gentree writes the no-op benchmark's source tree: 10,000 files,
// about 43 MB, in nested folders under OUT/src, the same bytes every time.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	out := flag.String("out", ".", "folder to create src/ in")
	files := flag.Int("files", 10000, "number of files")
	mean := flag.Int("mean", 4300, "mean file size in bytes")
	flag.Parse()
	total, err := generate(*out, *files, *mean)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
	fmt.Printf("%d files, %d bytes under %s\n", *files, total, filepath.Join(*out, "src"))
}

// mtime is every file's modification time: fixed, and old enough that no
// tool treats the files as just written.
func mtime() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// generate lays files out as src/mT/pM[/sub[/deep]]/fNNNN.EXT with sizes
// uniform in [0, 2*mean) from a fixed seed.
func generate(out string, n, mean int) (int64, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	exts := []string{".js", ".ts", ".css", ".json", ".txt", ".md", ".go"}
	const letters = "abcdefghijklmnopqrstuvwxyz      \n"
	buf := make([]byte, 2*mean)
	var total int64
	for i := range n {
		dir := filepath.Join(out, "src", fmt.Sprintf("m%02d", i/1000), fmt.Sprintf("p%02d", (i/100)%10))
		switch {
		case i%7 == 0:
			dir = filepath.Join(dir, "sub")
		case i%11 == 0:
			dir = filepath.Join(dir, "sub", "deep")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		size := rng.IntN(2 * mean)
		b := buf[:size]
		for j := range b {
			b[j] = letters[rng.IntN(len(letters))]
		}
		name := filepath.Join(dir, fmt.Sprintf("f%04d%s", i, exts[i%len(exts)]))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return 0, err
		}
		if err := os.Chtimes(name, mtime(), mtime()); err != nil {
			return 0, err
		}
		total += int64(size)
	}
	return total, nil
}
