package ui

import (
	"io"
	"os"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// Display is an engine.Reporter that also prints the end of a run.
type Display interface {
	engine.Reporter
	// Summary prints the table of results at the end of a run.
	Summary(results []*engine.Result, elapsed time.Duration)
	// Message prints a line that belongs to no target (warnings, watch headers).
	Message(msg string)
	// Close stops live updates and ends anything left open.
	Close()
}

// Mode names an output mode of --output.
type Mode string

// The modes; ModeAuto picks one from the terminal and the CI (Pick).
const (
	ModeAuto   Mode = "auto"
	ModeTTY    Mode = "tty"
	ModePlain  Mode = "plain"
	ModeGitHub Mode = "github"
	ModeGitLab Mode = "gitlab"
	ModeJSON   Mode = "json"
)

// Pick resolves auto: CI providers get their own mode, a terminal gets
// live lines, anything else plain.
func Pick(m Mode, out io.Writer, getenv func(string) string, isCI bool) Mode {
	if m != ModeAuto && m != "" {
		return m
	}
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return ModeGitHub
	case getenv("GITLAB_CI") != "":
		return ModeGitLab
	case !isCI && IsTerminal(out) && getenv("TERM") != "dumb":
		return ModeTTY
	}
	return ModePlain
}

// config is what a display takes from its surroundings; tests fix the
// clock and the environment to get byte-for-byte output.
type config struct {
	verbose bool
	now     func() time.Time
	getenv  func(string) string
	animate bool // tty: redraw the spinner lines on a ticker
	// forceColor makes the tty style output that is not a terminal (tests).
	forceColor bool
}

// New makes the display for mode.
func New(m Mode, out io.Writer, mask *Masker, verbose bool) Display {
	return newDisplay(m, out, mask, config{verbose: verbose, now: time.Now, getenv: os.Getenv, animate: true})
}

func newDisplay(m Mode, out io.Writer, mask *Masker, cfg config) Display {
	return named{Display: modeDisplay(m, out, mask, cfg), mask: mask}
}

func modeDisplay(m Mode, out io.Writer, mask *Masker, cfg config) Display {
	switch m {
	case ModeTTY:
		return newTTY(out, mask, cfg)
	case ModeJSON:
		return newJSON(out, mask, cfg)
	case ModeGitHub, ModeGitLab:
		return newGrouped(out, mask, m, cfg)
	}
	return newPlain(out, mask, cfg)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// duration formats d for people: 12ms, 1.2s, 1m5s.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
