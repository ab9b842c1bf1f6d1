package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/dtask-dev/dtask/engine/sources"
)

// Options configure a Watcher.
type Options struct {
	// Quiet is the debounce: a batch is sent once no event came for this long.
	Quiet time.Duration
	// MaxDelay bounds how long a steady stream of events can hold a batch
	// back (default 20×Quiet, at least 1s).
	MaxDelay time.Duration
	// Poll is how often folders beyond the inotify limit are scanned
	// (default 1s).
	Poll time.Duration
	// Ignore reports whether a path (file or folder) is never watched:
	// .git, the state folder.
	Ignore func(abs string) bool
	// Warn prints a message once when the watcher falls back to polling.
	Warn func(msg string)
	// MaxWatches, if set, caps the inotify watches below the kernel's
	// limit (tests use it to reach the limit).
	MaxWatches int
}

// Watcher follows folder trees with inotify, one watch per folder, and
// polls the folders it cannot watch once the kernel's limit is reached.
// Folders that appear under a root are watched as they appear and those
// removed are dropped. Changed paths come out of Batches, debounced.
type Watcher struct {
	opt     Options
	fsw     *fsnotify.Watcher // nil when inotify is unavailable
	batches chan []string
	polled  chan []string
	done    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	roots  []string
	dirs   map[string]bool           // folders watched with inotify
	polls  map[string]map[string]sig // polled folders: entry name → stat
	full   bool                      // the inotify limit was reached
	warned bool
	files  int // files seen while registering
}

// New starts a watcher with no roots.
func New(opt Options) (*Watcher, error) {
	if opt.Quiet <= 0 {
		opt.Quiet = 30 * time.Millisecond
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = max(20*opt.Quiet, time.Second)
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Ignore == nil {
		opt.Ignore = func(string) bool { return false }
	}
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	w := &Watcher{
		opt:     opt,
		batches: make(chan []string),
		polled:  make(chan []string, 16),
		done:    make(chan struct{}),
		dirs:    map[string]bool{},
		polls:   map[string]map[string]sig{},
	}
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		// Out of inotify instances (fs.inotify.max_user_instances): poll.
		w.full = true
		w.warn(fmt.Sprintf("cannot use inotify (%v): polling every %s instead; raise fs.inotify.max_user_instances", err, opt.Poll))
	}
	w.fsw = fsw
	w.wg.Add(2)
	go w.loop()
	go w.pollLoop()
	return w, nil
}

// Batches delivers the paths that changed, each batch once no event came
// for Quiet. Lost in a batch means events were dropped.
func (w *Watcher) Batches() <-chan []string { return w.batches }

// Close stops watching.
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	var err error
	if w.fsw != nil {
		err = w.fsw.Close()
	}
	w.wg.Wait()
	return err
}

// Stats says how many folders are watched with inotify, how many are
// polled, and how many files were seen in them when they were added.
func (w *Watcher) Stats() (watched, polled, files int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dirs), len(w.polls), w.files
}

// Add watches root: every folder under it, or, if root is a file or does
// not exist yet, the nearest existing folder above it so that it is seen
// when it appears.
func (w *Watcher) Add(root string) error {
	root = filepath.Clean(root)
	if !filepath.IsAbs(root) {
		return fmt.Errorf("watch root %s: not absolute", root)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.roots {
		if r == root {
			return nil
		}
	}
	w.roots = append(w.roots, root)
	start := root
	for {
		fi, err := os.Stat(start)
		if err == nil && fi.IsDir() {
			break
		}
		parent := filepath.Dir(start)
		if parent == start {
			return nil
		}
		start = parent
	}
	w.addTree(start, nil)
	return nil
}

// want reports whether dir must be watched: it is inside a root, or above
// one (to see the root appear or be replaced).
func (w *Watcher) want(dir string) bool {
	if w.opt.Ignore(dir) {
		return false
	}
	for _, r := range w.roots {
		if _, ok := sources.Within(dir, r); ok {
			return true
		}
		if _, ok := sources.Within(r, dir); ok {
			return true
		}
	}
	return false
}

// inside reports whether dir is inside a root (not just above one).
func (w *Watcher) inside(dir string) bool {
	for _, r := range w.roots {
		if _, ok := sources.Within(dir, r); ok {
			return true
		}
	}
	return false
}

// addTree watches dir and the folders under it that want, and appends to
// found the files it sees (for a folder that just appeared: its files were
// made before the watch and no event will name them). A folder already
// watched is still descended: a root added later (a context "." after the
// task file's own folder) wants folders the first walk passed over.
// Called with mu held.
func (w *Watcher) addTree(dir string, found *[]string) {
	fresh := !w.dirs[dir] && w.polls[dir] == nil
	if fresh && !w.watchDir(dir) {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // gone already; its parent's event says so
	}
	in := fresh && w.inside(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if w.want(p) {
				if found != nil && !w.dirs[p] && w.polls[p] == nil {
					*found = append(*found, p)
				}
				w.addTree(p, found)
			}
			continue
		}
		if in {
			w.files++
			if found != nil && !w.opt.Ignore(p) {
				*found = append(*found, p)
			}
		}
	}
}

// watchDir adds an inotify watch, or puts dir on the polling list once the
// limit is reached. It returns false if dir is gone.
func (w *Watcher) watchDir(dir string) bool {
	if !w.full {
		var err error = unix.ENOSPC
		if w.opt.MaxWatches == 0 || len(w.dirs) < w.opt.MaxWatches {
			err = w.fsw.Add(dir)
		}
		switch {
		case err == nil:
			w.dirs[dir] = true
			return true
		case errors.Is(err, unix.ENOSPC):
			w.full = true
			w.warn(limitMessage(w.opt.Poll))
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
			return false
		default:
			w.warn(fmt.Sprintf("watching %s: %v; polling it every %s instead", dir, err, w.opt.Poll))
		}
	}
	snap, err := snapshot(dir)
	if err != nil {
		return false
	}
	w.polls[dir] = snap
	return true
}

func (w *Watcher) warn(msg string) {
	if !w.warned {
		w.warned = true
		w.opt.Warn(msg)
	}
}

// limitMessage names the sysctl to raise, with its current value.
func limitMessage(poll time.Duration) string {
	cur := "?"
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
		cur = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("the inotify watch limit is reached (fs.inotify.max_user_watches = %s): the remaining folders are polled every %s; "+
		"raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.conf to keep it)", cur, poll)
}

// drop stops watching dir and every folder under it (removed or moved away).
func (w *Watcher) drop(dir string) {
	for d := range w.dirs {
		if _, ok := sources.Within(d, dir); ok {
			delete(w.dirs, d)
			if w.fsw != nil {
				_ = w.fsw.Remove(d) // the kernel may have dropped it already
			}
		}
	}
	for d := range w.polls {
		if _, ok := sources.Within(d, dir); ok {
			delete(w.polls, d)
		}
	}
}

// handle turns one inotify event into changed paths, watching a folder
// that appeared and dropping one that went.
func (w *Watcher) handle(ev fsnotify.Event, out []string) []string {
	p := ev.Name
	if w.opt.Ignore(p) {
		return out
	}
	out = append(out, p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.dirs[p] || w.polls[p] != nil {
			w.drop(p)
		}
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() && w.want(p) {
			w.addTree(p, &out)
		}
	}
	return out
}
