package targets

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Span starts timing one phase of the image cache's work (restoring,
// saving, the wait at exit) and returns the func that ends it. Under -v
// that func prints the phase and how long it took on stderr, so that the
// time of a CI run can be split between the engine's work and dtask's;
// otherwise it prints nothing. Saves run in the background, beside the
// targets, so their lines come out in the middle of other output.
func (e *Env) Span(what string) (end func()) {
	if !e.Verbose {
		return func() {}
	}
	return span(os.Stderr, what, time.Now())
}

func span(w io.Writer, what string, start time.Time) func() {
	return func() {
		fmt.Fprintf(w, "image cache: %s: %s\n", what, time.Since(start).Round(time.Millisecond))
	}
}
