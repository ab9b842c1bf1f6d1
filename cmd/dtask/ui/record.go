package ui

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// Recorder is a Display that also keeps the last lines of each target's
// output, masked and free of control codes, for reports written after the
// run (JUnit) whatever the output mode.
type Recorder struct {
	Display
	mask  *Masker
	n     int
	ws    writers
	mu    sync.Mutex
	tails map[string]*tail
}

// Record wraps d, keeping up to n lines of each target's output.
func Record(d Display, mask *Masker, n int) *Recorder {
	return &Recorder{Display: d, mask: mask, n: n, tails: map[string]*tail{}}
}

// Start forgets what an earlier run of target printed (watch mode).
func (r *Recorder) Start(target, reason string) {
	r.mu.Lock()
	r.tails[target] = &tail{n: r.n}
	r.mu.Unlock()
	r.Display.Start(target, reason)
}

func (r *Recorder) Output(target string) (io.Writer, io.Writer) {
	so, se := r.Display.Output(target)
	ko, ke := r.ws.pair(target, func(l string) {
		l = r.mask.Mask(clean(l, false))
		r.mu.Lock()
		defer r.mu.Unlock()
		t := r.tails[target]
		if t == nil {
			t = &tail{n: r.n}
			r.tails[target] = t
		}
		t.add(l)
	})
	return io.MultiWriter(so, ko), io.MultiWriter(se, ke)
}

func (r *Recorder) Finish(res *engine.Result) {
	r.ws.flush(res.Target)
	r.Display.Finish(res)
}

// Tail returns the last lines target printed in this run.
func (r *Recorder) Tail(target string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.tails[target]; t != nil {
		return append([]string(nil), t.lines...)
	}
	return nil
}

// summaryTail is how many of a failed target's last lines the summary repeats.
const summaryTail = 5

// Summary shows the table, then under it the last lines each failed
// target printed: why it failed, without scrolling back. JSON output has
// them in its events already.
func (r *Recorder) Summary(results []*engine.Result, elapsed time.Duration) {
	r.Display.Summary(results, elapsed)
	if _, isJSON := r.Display.(*jsonDisplay); isJSON {
		return
	}
	for _, res := range results {
		lines := r.Tail(res.Target)
		if res.Status != engine.Failed || len(lines) == 0 {
			continue
		}
		if len(lines) > summaryTail {
			lines = lines[len(lines)-summaryTail:]
		}
		r.Display.Message(fmt.Sprintf("%s failed; its last lines:", res.Target))
		for _, l := range lines {
			r.Display.Message("  " + l)
		}
	}
}
