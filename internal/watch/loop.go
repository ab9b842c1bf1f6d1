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
	b := newBatch(w.opt.Quiet, w.opt.MaxDelay)
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
			b.add(buf, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				b.add([]string{Lost}, time.Now())
			}
		case paths := <-w.polled:
			b.add(paths, time.Now())
		case <-b.timer.C:
			if batch := b.due(time.Now()); batch != nil && !w.send(batch) {
				return
			}
		}
	}
}

// send hands a batch to the reader; false when the watcher closed first.
func (w *Watcher) send(batch []string) bool {
	select {
	case w.batches <- batch:
		return true
	case <-w.done:
		return false
	}
}

// batch is the changed paths not sent yet, in the order they changed,
// and the timer that ends the burst.
type batch struct {
	quiet, maxDelay time.Duration
	pending         map[string]bool
	order           []string
	first, last     time.Time
	timer           *time.Timer
}

func newBatch(quiet, maxDelay time.Duration) *batch {
	b := &batch{quiet: quiet, maxDelay: maxDelay, pending: map[string]bool{}, timer: time.NewTimer(time.Hour)}
	b.timer.Stop()
	return b
}

// add records paths that changed at now and restarts the quiet period.
// The caller says the time, so that the rules of a burst can be tested
// on times a test sets rather than on how fast a machine is.
func (b *batch) add(paths []string, now time.Time) {
	if len(paths) == 0 {
		return
	}
	if len(b.order) == 0 {
		b.first = now
	}
	b.last = now
	for _, p := range paths {
		if !b.pending[p] {
			b.pending[p] = true
			b.order = append(b.order, p)
		}
	}
	b.timer.Reset(b.quiet)
}

// due returns the paths to send when the burst is over at now (and
// starts a new one), or nil, re-arming the timer, while it goes on.
func (b *batch) due(now time.Time) []string {
	if len(b.order) == 0 {
		return nil
	}
	if quiet := now.Sub(b.last); quiet < b.quiet && now.Sub(b.first) < b.maxDelay {
		b.timer.Reset(b.quiet - quiet)
		return nil
	}
	out := b.order
	b.order, b.pending = nil, map[string]bool{}
	return out
}
