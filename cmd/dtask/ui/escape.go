package ui

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtask-dev/dtask/engine"
)

// Escape makes a name from a task file (a target's, a description) safe
// to print on one line: control characters, which could move the cursor,
// retitle the terminal or hide text, Unicode's invisible direction
// overrides and bytes that are not UTF-8 are shown as Go escapes (\x1b,
// \u202e) instead of acting.
func Escape(s string) string { return escape(s, false) }

// EscapeText is Escape for text of several lines (an error, a reason):
// line breaks and tabs stay.
func EscapeText(s string) string { return escape(s, true) }

func escape(s string, multiline bool) string {
	if !needsEscape(s, multiline) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || (r < 0x20 || r == 0x7f) && !(multiline && (r == '\n' || r == '\t')) || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune: C1 controls and the bidirectional controls that reorder
// what a terminal shows ("Trojan Source").
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r == 0x061c || r == 0x200e || r == 0x200f ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// named shows target names escaped and masked, and the reasons and errors
// dtask writes about them escaped, in every display: names come from the
// task file and reach each mode, while a target's own output is cleaned
// (clean) as it streams.
type named struct {
	Display
	mask *Masker
}

func (d named) name(target string) string { return Escape(d.mask.Mask(target)) }

func (d named) Start(target, reason string) { d.Display.Start(d.name(target), EscapeText(reason)) }

func (d named) Output(target string) (io.Writer, io.Writer) { return d.Display.Output(d.name(target)) }

func (d named) Progress(target, msg string) { d.Display.Progress(d.name(target), msg) }

func (d named) Finish(r *engine.Result) { d.Display.Finish(d.result(r)) }

func (d named) Summary(results []*engine.Result, elapsed time.Duration) {
	out := make([]*engine.Result, len(results))
	for i, r := range results {
		out[i] = d.result(r)
	}
	d.Display.Summary(out, elapsed)
}

// result is r as the display shows it: r itself when that changes
// nothing (an up-to-date target with a plain name), else a copy.
func (d named) result(r *engine.Result) *engine.Result {
	name, reason := d.name(r.Target), EscapeText(r.Reason)
	if name == r.Target && reason == r.Reason && r.Err == nil {
		return r
	}
	c := *r
	c.Target, c.Reason = name, reason
	if r.Err != nil {
		c.Err = shownError{text: EscapeText(r.Err.Error()), err: r.Err}
	}
	return &c
}

// shownError is an error as displays print it, still unwrapping to the
// original.
type shownError struct {
	text string
	err  error
}

func (e shownError) Error() string { return e.text }
func (e shownError) Unwrap() error { return e.err }
