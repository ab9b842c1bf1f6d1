package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// plain prints "[target] line" as lines arrive, with no control codes:
// for pipes, log files and CI providers without a richer format.
type plain struct {
	mu    sync.Mutex
	out   *held
	mask  *Masker
	ws    writers
	quiet quiet
}

func newPlain(out io.Writer, mask *Masker, cfg config) *plain {
	return &plain{out: &held{out: out}, mask: mask, quiet: quiet{now: cfg.now}}
}

// printf writes one masked line; callers hold p.mu.
func (p *plain) printf(format string, a ...any) {
	p.out.write(p.mask.Mask(fmt.Sprintf(format, a...)))
}

func (p *plain) Start(target, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet.heard(target)
	p.printf("[%s] running: %s\n", target, reason)
}

func (p *plain) Output(target string) (io.Writer, io.Writer) {
	return p.ws.pair(target, func(line string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.quiet.heard(target)
		p.printf("[%s] %s\n", target, clean(line, false))
	})
}

// Progress shows only after a target has been silent a while: a log
// needs no progress bar, but a long transfer with no line at all looks
// hung (and CI providers kill jobs that print nothing for minutes).
func (p *plain) Progress(target, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet.due(target) {
		p.printf("[%s] %s\n", target, clean(msg, false))
	}
}

func (p *plain) Message(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printf("%s\n", clean(msg, false))
}

func (p *plain) Finish(r *engine.Result) {
	p.ws.flush(r.Target)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet.forget(r.Target)
	line := p.mask.Mask("[" + r.Target + "] " + clean(resultText(r), false) + "\n")
	// A target that ran or failed shows at once; the lines of those that
	// did nothing (up to date, skipped) can wait a moment for company.
	if r.Status == engine.Ran || r.Status == engine.Failed {
		p.out.write(line)
	} else {
		p.out.hold(line)
	}
}

func (p *plain) Summary(results []*engine.Result, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printf("%s", summaryText(results, elapsed))
}

func (p *plain) Close() { p.out.flush() }

// resultText is how a log line states a target's result.
func resultText(r *engine.Result) string {
	switch r.Status {
	case engine.Ran:
		return "done in " + duration(r.Duration)
	case engine.Cached:
		return "cached (up to date" + cachedNote(r) + ")"
	case engine.Failed:
		return "FAILED: " + errText(r)
	case engine.WouldRun:
		return "would run: " + r.Reason
	}
	return r.Status.String() + ": " + r.Reason
}

// cachedNote is what a cached result's reason adds to "up to date" (a dry
// run's note on paths that are not hashed), or "".
func cachedNote(r *engine.Result) string {
	note, _ := strings.CutPrefix(r.Reason, "up to date")
	if !strings.HasPrefix(note, ";") && !strings.HasPrefix(note, " (") {
		return ""
	}
	return note
}

func errText(r *engine.Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return r.Reason
}

// writers hands out line writers per target and flushes a target's
// partial last lines when it finishes.
type writers struct {
	mu sync.Mutex
	m  map[string][]*lineWriter
}

// pair makes the stdout and stderr writers of target; emit gets each line.
func (ws *writers) pair(target string, emit func(string)) (io.Writer, io.Writer) {
	a, b := &lineWriter{emit: emit}, &lineWriter{emit: emit}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.m == nil {
		ws.m = map[string][]*lineWriter{}
	}
	ws.m[target] = append(ws.m[target], a, b)
	return a, b
}

// flush emits target's partial lines and forgets its writers. It must be
// called without the display's lock: emit takes it.
func (ws *writers) flush(target string) {
	ws.mu.Lock()
	list := ws.m[target]
	delete(ws.m, target)
	ws.mu.Unlock()
	for _, w := range list {
		w.Flush()
	}
}

// quietFor is how long a target is silent before a log shows its progress.
const quietFor = 15 * time.Second

// quiet tracks when each running target last printed; callers lock.
type quiet struct {
	now  func() time.Time
	last map[string]time.Time
}

func (q *quiet) heard(target string) {
	if q.last == nil {
		q.last = map[string]time.Time{}
	}
	q.last[target] = q.now()
}

// due says whether target has been silent for quietFor, and if so counts
// the progress line about to be printed as heard.
func (q *quiet) due(target string) bool {
	t, ok := q.last[target]
	if !ok {
		q.heard(target)
		return false
	}
	if q.now().Sub(t) < quietFor {
		return false
	}
	q.heard(target)
	return true
}

func (q *quiet) forget(target string) { delete(q.last, target) }
