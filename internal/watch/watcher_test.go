package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/testfs"
	"github.com/dtask-dev/dtask/internal/testwait"
)

func newWatcher(t *testing.T, opt Options, roots ...string) *Watcher {
	t.Helper()
	if opt.Ignore == nil {
		opt.Ignore = func(p string) bool {
			b := filepath.Base(p)
			return b == ".git" || b == ".dtask" || strings.Contains(p, "/.git/") || strings.Contains(p, "/.dtask/")
		}
	}
	w, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for _, r := range roots {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// guard is how long a test waits for an event before it calls the watcher
// stuck: a guard against hanging, not a measure (a loaded machine can take
// seconds to deliver one).
const guard = time.Minute

// next waits for a batch containing want, failing after a timeout; it
// returns every batch seen up to it.
func next(t *testing.T, w *Watcher, want string, timeout time.Duration) [][]string {
	t.Helper()
	var seen [][]string
	deadline := time.After(timeout)
	for {
		select {
		case b := <-w.Batches():
			seen = append(seen, b)
			if slices.Contains(b, want) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no batch with %s within %s; saw %v", want, timeout, seen)
		}
	}
}

// quiet asserts that no batch comes for d.
func quiet(t *testing.T, w *Watcher, d time.Duration) {
	t.Helper()
	select {
	case b := <-w.Batches():
		t.Fatalf("unexpected batch %v", b)
	case <-time.After(d):
	}
}

func TestRecursiveAndNewFolders(t *testing.T) {
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "a/b/c.txt"), "1")
	w := newWatcher(t, Options{Quiet: 20 * time.Millisecond}, dir)
	if n, _, files := w.Stats(); n != 3 || files != 1 {
		t.Fatalf("watching %d folders, %d files; want 3, 1", n, files)
	}
	testfs.Write(t, filepath.Join(dir, "a/b/c.txt"), "2")
	next(t, w, filepath.Join(dir, "a/b/c.txt"), guard)

	// mkdir -p and a file in it at once: the file was made before the
	// new folders were watched, and must still be reported.
	deep := filepath.Join(dir, "x/y/z/new.txt")
	testfs.Write(t, deep, "new")
	next(t, w, deep, guard)
	if n, _, _ := w.Stats(); n != 6 {
		t.Fatalf("watching %d folders after mkdir -p x/y/z; want 6", n)
	}
	testfs.Write(t, filepath.Join(dir, "x/y/z/later.txt"), "later")
	next(t, w, filepath.Join(dir, "x/y/z/later.txt"), guard)

	if err := os.RemoveAll(filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	next(t, w, filepath.Join(dir, "x"), guard)
	var n int
	if !eventually(guard, func() bool { n, _, _ = w.Stats(); return n == 3 }) {
		t.Fatalf("watching %d folders after rm -r x; want 3", n)
	}
}

// eventually waits until cond holds, checking every few milliseconds, and
// says whether it did before the timeout.
func eventually(timeout time.Duration, cond func() bool) bool {
	return testwait.Until(timeout, cond)
}

func TestIgnored(t *testing.T) {
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, ".git/HEAD"), "ref")
	testfs.Write(t, filepath.Join(dir, ".dtask/index"), "i")
	testfs.Write(t, filepath.Join(dir, "src/a.go"), "a")
	w := newWatcher(t, Options{Quiet: 20 * time.Millisecond}, dir)
	if n, _, _ := w.Stats(); n != 2 {
		t.Fatalf("watching %d folders; want 2 (.git and .dtask left out)", n)
	}
	testfs.Write(t, filepath.Join(dir, ".git/HEAD"), "ref2")
	testfs.Write(t, filepath.Join(dir, ".dtask/index"), "i2")
	quiet(t, w, 200*time.Millisecond)
}

// An editor's save (a temp file renamed over the original, then a second
// write a few ms later) is reported as a change of the file. How many
// batches it makes depends on how far apart the events come, which a
// loaded machine decides: TestBurstIsOneBatch holds the rule on set times.
func TestEditorSaveIsReported(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "main.go")
	testfs.Write(t, f, "v1")
	w := newWatcher(t, Options{Quiet: 50 * time.Millisecond}, dir)
	tmp := filepath.Join(dir, ".main.go.tmp")
	testfs.Write(t, tmp, "v2")
	if err := os.Rename(tmp, f); err != nil {
		t.Fatal(err)
	}
	testfs.Write(t, f, "v3")
	next(t, w, f, guard)
}

// Changes that come less than Quiet apart are one batch, in the order they
// came, each path once; it is sent once Quiet has passed since the last,
// not the first. On times the test sets: no clock is read.
func TestBurstIsOneBatch(t *testing.T) {
	const quiet = 50 * time.Millisecond
	b := newBatch(quiet, time.Second)
	t0 := time.Unix(1000, 0)
	b.add([]string{"tmp"}, t0)
	b.add([]string{"tmp", "main.go"}, t0.Add(time.Millisecond))
	b.add([]string{"main.go"}, t0.Add(6*time.Millisecond))
	if got := b.due(t0.Add(quiet)); got != nil {
		t.Fatalf("sent %v Quiet after the first change, 5 ms before the burst was quiet", got)
	}
	end := t0.Add(6*time.Millisecond + quiet)
	if got := b.due(end); !slices.Equal(got, []string{"tmp", "main.go"}) {
		t.Fatalf("at the end of the burst: %v, want [tmp main.go]", got)
	}
	if got := b.due(end.Add(time.Hour)); got != nil {
		t.Errorf("sent again: %v", got)
	}
}

// A stream that never goes quiet is still sent MaxDelay after its first
// change.
func TestEndlessBurstIsSentAfterMaxDelay(t *testing.T) {
	const quiet, maxDelay = 50 * time.Millisecond, time.Second
	b := newBatch(quiet, maxDelay)
	t0 := time.Unix(1000, 0)
	at := t0
	for ; at.Before(t0.Add(maxDelay)); at = at.Add(quiet / 2) {
		b.add([]string{"log.txt"}, at)
		if got := b.due(at); got != nil {
			t.Fatalf("sent %v %v into the stream, before MaxDelay", got, at.Sub(t0))
		}
	}
	if got := b.due(at); !slices.Equal(got, []string{"log.txt"}) {
		t.Errorf("MaxDelay into the stream: %v, want [log.txt]", got)
	}
}

func TestMissingRootAppears(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "later/src")
	w := newWatcher(t, Options{Quiet: 20 * time.Millisecond}, root)
	f := filepath.Join(root, "deep/a.txt")
	testfs.Write(t, f, "x")
	next(t, w, f, guard)
	// Folders beside the root are not watched.
	if err := os.MkdirAll(filepath.Join(dir, "other/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An event made after the mkdir has come through: the watcher has
	// seen whatever the mkdir could have made it do.
	marker := filepath.Join(root, "deep/b.txt")
	testfs.Write(t, marker, "y")
	next(t, w, marker, guard)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirs[filepath.Join(dir, "other/sub")] {
		t.Fatal("a folder outside every root was watched")
	}
}

func TestLimitFallsBackToPolling(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "c", "d"} {
		testfs.Write(t, filepath.Join(dir, d, "f.txt"), "1")
	}
	var mu sync.Mutex
	var warnings []string
	w := newWatcher(t, Options{
		Quiet: 20 * time.Millisecond, Poll: 50 * time.Millisecond, MaxWatches: 2,
		Warn: func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() },
	}, dir)
	watched, polled, _ := w.Stats()
	if watched != 2 || polled != 3 {
		t.Fatalf("watched %d, polled %d; want 2 and 3", watched, polled)
	}
	mu.Lock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "fs.inotify.max_user_watches") {
		t.Fatalf("warnings %q: want one naming fs.inotify.max_user_watches", warnings)
	}
	mu.Unlock()
	for _, d := range []string{"a", "b", "c", "d"} {
		f := filepath.Join(dir, d, "f.txt")
		time.Sleep(15 * time.Millisecond) // a different mtime for polling
		testfs.Write(t, f, "changed "+d)
		next(t, w, f, guard)
	}
	// A new folder in a polled one is polled too.
	f := filepath.Join(dir, "d/new/g.txt")
	testfs.Write(t, f, "g")
	next(t, w, f, guard)
}
