package ui

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// jsonDisplay writes one JSON object per line for other tools.
type jsonDisplay struct {
	mu    sync.Mutex
	enc   *json.Encoder
	mask  *Masker
	now   func() time.Time
	ws    writers
	tails map[string]*tail
}

// Event is one line of --output json. Event is one of: start (a target
// begins to run), output (a line it printed), progress, message (a line
// of no target), a target's end — finished (ran and succeeded), cached,
// skipped, failed, not_run, would_run (dry run) — and summary (the last
// line, with every result). Strings are masked and free of control codes.
type Event struct {
	Time       time.Time      `json:"time,omitzero"`
	Event      string         `json:"event"`
	Target     string         `json:"target,omitempty"`
	Stream     string         `json:"stream,omitempty"` // output: stdout or stderr
	Line       string         `json:"line,omitempty"`
	Status     string         `json:"status,omitempty"` // end events: ran, cached, skipped, failed, not run, would run
	Reason     string         `json:"reason,omitempty"` // why it runs, or was skipped, cached or not run
	Error      string         `json:"error,omitempty"`
	DurationMS *int64         `json:"duration_ms,omitempty"` // end and summary events
	Key        string         `json:"key,omitempty"`
	Image      string         `json:"image,omitempty"`
	Tail       []string       `json:"tail,omitempty"`   // failed: the last lines of output
	Counts     map[string]int `json:"counts,omitempty"` // summary: targets per status
	Results    []Event        `json:"results,omitempty"`
}

// endEvent names a target's end event by its status.
func endEvent(s engine.Status) string {
	return [...]string{engine.Ran: "finished", engine.Cached: "cached", engine.Skipped: "skipped",
		engine.Failed: "failed", engine.NotRun: "not_run", engine.WouldRun: "would_run"}[s]
}

func newJSON(out io.Writer, mask *Masker, cfg config) *jsonDisplay {
	return &jsonDisplay{enc: json.NewEncoder(out), mask: mask, now: cfg.now, tails: map[string]*tail{}}
}

func (j *jsonDisplay) tidy(s string) string { return j.mask.Mask(clean(s, false)) }

// emit writes e; callers hold j.mu.
func (j *jsonDisplay) emit(e Event) {
	e.Time = j.now().UTC()
	_ = j.enc.Encode(e)
}

func (j *jsonDisplay) Start(target, reason string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.tails[target] = &tail{n: tailLines}
	j.emit(Event{Event: "start", Target: target, Reason: j.tidy(reason)})
}

func (j *jsonDisplay) Output(target string) (io.Writer, io.Writer) {
	mk := func(stream string) io.Writer {
		w, _ := j.ws.pair(target+"\x00"+stream, func(l string) {
			j.mu.Lock()
			defer j.mu.Unlock()
			l = j.tidy(l)
			if t := j.tails[target]; t != nil {
				t.add(l)
			}
			j.emit(Event{Event: "output", Target: target, Stream: stream, Line: l})
		})
		return w
	}
	return mk("stdout"), mk("stderr")
}

func (j *jsonDisplay) Progress(target, msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.emit(Event{Event: "progress", Target: target, Line: j.tidy(msg)})
}

func (j *jsonDisplay) Message(msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.emit(Event{Event: "message", Line: j.tidy(msg)})
}

func (j *jsonDisplay) resultEvent(r *engine.Result) Event {
	ms := r.Duration.Milliseconds()
	e := Event{Event: endEvent(r.Status), Target: r.Target, Status: r.Status.String(), Reason: j.tidy(r.Reason),
		DurationMS: &ms, Key: r.Key, Image: j.mask.Mask(r.Outputs["image"])}
	if r.Err != nil {
		e.Error = j.tidy(r.Err.Error())
	}
	return e
}

func (j *jsonDisplay) Finish(r *engine.Result) {
	j.ws.flush(r.Target + "\x00stdout")
	j.ws.flush(r.Target + "\x00stderr")
	j.mu.Lock()
	defer j.mu.Unlock()
	e := j.resultEvent(r)
	if t := j.tails[r.Target]; t != nil && r.Status == engine.Failed {
		e.Tail = t.lines
	}
	delete(j.tails, r.Target)
	j.emit(e)
}

func (j *jsonDisplay) Summary(results []*engine.Result, elapsed time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ms := elapsed.Milliseconds()
	e := Event{Event: "summary", DurationMS: &ms, Counts: map[string]int{}, Results: []Event{}}
	for _, r := range results {
		re := j.resultEvent(r)
		re.Time = time.Time{}
		e.Results = append(e.Results, re)
		e.Counts[strings.ReplaceAll(r.Status.String(), " ", "_")]++
	}
	j.emit(e)
}

func (j *jsonDisplay) Close() {}
