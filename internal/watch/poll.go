package watch

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// sig is what polling compares to notice a change.
type sig struct {
	size, mtime, ctime int64
	ino                uint64
	mode               uint32
}

// snapshot stats every entry of dir.
func snapshot(dir string) (map[string]sig, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	snap := make(map[string]sig, len(ents))
	var st unix.Stat_t
	for _, e := range ents {
		if unix.Lstat(filepath.Join(dir, e.Name()), &st) != nil {
			continue
		}
		snap[e.Name()] = sig{
			size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
			ino: st.Ino, mode: st.Mode,
		}
	}
	return snap, nil
}

// pollLoop scans the polled folders every Poll and reports what differs.
func (w *Watcher) pollLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.opt.Poll)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		if changed := w.pollOnce(); len(changed) > 0 {
			select {
			case w.polled <- changed:
			case <-w.done:
				return
			}
		}
	}
}

// pollOnce rescans each polled folder; new folders that want watching are
// added (to polling, as the limit is reached), removed ones dropped.
func (w *Watcher) pollOnce() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	dirs := make([]string, 0, len(w.polls))
	for d := range w.polls {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		old, ok := w.polls[dir]
		if !ok {
			continue // dropped with a parent during this scan
		}
		cur, err := snapshot(dir)
		if err != nil {
			w.drop(dir)
			out = append(out, dir)
			continue
		}
		w.polls[dir] = cur
		for name, s := range cur {
			p := filepath.Join(dir, name)
			if o, seen := old[name]; seen && o == s || w.opt.Ignore(p) {
				continue
			}
			out = append(out, p)
			if s.mode&unix.S_IFMT == unix.S_IFDIR && w.want(p) {
				w.addTree(p, &out)
			}
		}
		for name, o := range old {
			if _, still := cur[name]; !still {
				p := filepath.Join(dir, name)
				out = append(out, p)
				if o.mode&unix.S_IFMT == unix.S_IFDIR {
					w.drop(p)
				}
			}
		}
	}
	return out
}
