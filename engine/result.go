package engine

import (
	"io"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
)

// Status is how a target ended.
type Status int

const (
	Ran      Status = iota // its action ran and succeeded
	Cached                 // its key matched a recorded success
	Skipped                // a when condition excluded it, or a dep was skipped
	Failed                 // its action failed
	NotRun                 // a dep failed or the run was cancelled first
	WouldRun               // dry run: it would run
)

func (s Status) String() string {
	return [...]string{"ran", "cached", "skipped", "failed", "not run", "would run"}[s]
}

// Result is the outcome of one target.
type Result struct {
	Target   string
	Kind     string
	Status   Status
	Duration time.Duration
	Reason   string // why it ran, was skipped or failed; for cached: up to date
	Key      string
	Outputs  Outputs
	Err      error
	// key is what it was planned on; nil if it never was.
	key *cache.Key
}

// Lines returns the labelled lines of its key as stored (secrets hashed):
// the source hashes it was planned on, pass or fail. They are built on
// demand: a no-op run over a large tree never needs them.
func (r *Result) Lines() []cache.Line {
	if r.key == nil {
		return nil
	}
	return r.key.Stored()
}

// EachLine calls fn with each line of its key without building them all:
// label and value are buffers fn must not keep. Values are as hashed
// (secrets not masked).
func (r *Result) EachLine(fn func(label, value []byte)) {
	if r.key != nil {
		r.key.Each(fn)
	}
}

// EachLineSince calls fn, as EachLine does, with the lines that may
// differ from prev's (an earlier result of the same target): after one
// edit of a large tree, a few, not one per file.
func (r *Result) EachLineSince(prev *Result, fn func(label, value []byte)) {
	if r.key == nil {
		return
	}
	if prev == nil {
		r.key.Each(fn)
		return
	}
	r.key.EachSince(prev.key, fn)
}

// Reporter shows a run as it happens. Implementations live in cmd/ and
// must be safe for concurrent use.
type Reporter interface {
	// Start says target began to run; reason says why it runs.
	Start(target, reason string)
	// Output returns the writers the target's output goes to.
	Output(target string) (stdout, stderr io.Writer)
	// Progress shows a one-line status for a running target.
	Progress(target, msg string)
	// Finish reports the target's result (any status, including cached).
	Finish(r *Result)
}
