package watchrun

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
)

// header is the line that opens run n: when, and what changed.
func (s *session) header(changed []string) string {
	when := time.Now().Format("15:04:05")
	if len(changed) == 0 {
		return fmt.Sprintf("── run %d · %s · %s", s.n, when, strings.Join(s.goals, " "))
	}
	names := make([]string, 0, 3)
	for i, c := range changed {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(changed)-3))
			break
		}
		if rel, err := filepath.Rel(s.p.File.Dir, c); err == nil && !strings.HasPrefix(rel, "..") {
			c = rel
		}
		names = append(names, c)
	}
	return fmt.Sprintf("── run %d · %s · changed: %s", s.n, when, strings.Join(names, ", "))
}

// resultLine is the line that ends a completed run: what its targets
// did, which failed, how long it took.
func (s *session) resultLine(n int, end runEnd, elapsed time.Duration) string {
	counts := map[engine.Status]int{}
	var failed []string
	for _, r := range end.results {
		counts[r.Status]++
		if r.Status == engine.Failed {
			failed = append(failed, r.Target)
		}
	}
	var parts []string
	for st := engine.Ran; st <= engine.WouldRun; st++ {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	what := strings.Join(parts, ", ")
	if end.err != nil || len(failed) > 0 {
		if len(failed) > 0 {
			what = "failed: " + strings.Join(failed, ", ") + " (" + what + ")"
		} else {
			what = "failed: " + end.err.Error()
		}
		return fmt.Sprintf("✗ run %d %s in %s · watching for changes", n, what, elapsed)
	}
	return fmt.Sprintf("✓ run %d ok in %s (%s) · watching for changes", n, elapsed, what)
}

// ready says, once, what is watched and (with -v) how long start-up took.
func (s *session) ready() {
	dirs, polled, files := s.w.Stats()
	if len(s.srcs) == 0 { // only the task file
		fmt.Fprintf(s.stderr, "dtask: %s has no sources to watch (give sh targets sources); press Ctrl-C to stop\n", strings.Join(s.goals, " "))
		return
	}
	if s.c.Verbose {
		fmt.Fprintf(s.stderr, "dtask: watching %d folders (%d polled), %d files; ready %s after start\n",
			dirs+polled, polled, files, time.Since(s.c.Started).Round(time.Millisecond))
	}
}

// message prints a line that belongs to no target: through the live
// display while a run draws status lines, else to stderr, masked as the
// display masks (a reloaded task file's error may quote a value).
func (s *session) message(msg string) {
	if d := s.live.Load(); d != nil {
		for _, l := range strings.Split(msg, "\n") {
			(*d).Message(l)
		}
		return
	}
	fmt.Fprintln(s.stderr, s.p.Mask.Mask(msg))
}

// stoppedTargets shows the targets a stopped run cut short as stopped, not
// failed: they failed nothing, and the error chain of a cancelled engine
// call ("context canceled", a URL) tells the user nothing.
type stoppedTargets struct {
	ui.Display
	why atomic.Pointer[string]
}

func (d *stoppedTargets) Finish(r *engine.Result) {
	if why := d.why.Load(); why != nil && r.Status == engine.Failed {
		c := *r
		c.Status, c.Reason, c.Err = engine.NotRun, "stopped: "+*why, nil
		r = &c
	}
	d.Display.Finish(r)
}
