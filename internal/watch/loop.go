package watch

import (
	"errors"
	"time"

	"github.com/fsnotify/fsnotify"
)

// loop collects changed paths and sends them as one batch once no event
// came for Quiet (or MaxDelay after the first, if they never stop).
func (w *Watcher) loop() {
	defer w.wg.Done()
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fsw != nil {
		events, errs = w.fsw.Events, w.fsw.Errors
	}
	pending := map[string]bool{}
	var order []string
	var first, last time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	add := func(paths []string) {
		if len(paths) == 0 {
			return
		}
		now := time.Now()
		if len(order) == 0 {
			first = now
		}
		last = now
		for _, p := range paths {
			if !pending[p] {
				pending[p] = true
				order = append(order, p)
			}
		}
		timer.Reset(w.opt.Quiet)
	}
	var buf []string
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			buf = w.handle(ev, buf[:0])
			add(buf)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				add([]string{Lost})
			}
		case paths := <-w.polled:
			add(paths)
		case <-timer.C:
			if len(order) == 0 {
				continue
			}
			now := time.Now()
			if quiet := now.Sub(last); quiet < w.opt.Quiet && now.Sub(first) < w.opt.MaxDelay {
				timer.Reset(w.opt.Quiet - quiet)
				continue
			}
			batch := order
			select {
			case w.batches <- batch:
			case <-w.done:
				return
			}
			order, pending = nil, map[string]bool{}
		}
	}
}
