package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
)

// routeLogrus has what libraries log through logrus come out as dtask's
// own lines on stderr ("dtask: warning: ..."), instead of raw `time="..."
// level=warning msg=...` lines. logrus' standard logger is global, and
// compose-go (and, more rarely, BuildKit's session and the docker CLI's
// config code) log through it with no way to pass a logger in, so it is
// set here, once per process, before anything is loaded. dtask says the
// compose warnings that matter (variables that are not set) itself, with
// the compose file and line; this catches the rest, such as the obsolete
// `version` key, whose message names its file.
func routeLogrus(stderr io.Writer) {
	logrus.SetOutput(stderr)
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetFormatter(logrusLine{})
}

// logrusLine formats an entry as one dtask line: level, message, and
// any fields (sorted), control characters escaped.
type logrusLine struct{}

func (logrusLine) Format(e *logrus.Entry) ([]byte, error) {
	var b strings.Builder
	b.WriteString("dtask: " + e.Level.String() + ": " + e.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		fmt.Fprintf(&b, " %s=%v", k, e.Data[k])
	}
	return []byte(ui.EscapeText(b.String()) + "\n"), nil
}
