package main

import (
	"io"

	"github.com/sirupsen/logrus"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
)

// routeLogrus has what compose-go logs through logrus come out as
// dtask's own warnings on stderr, instead of raw `time="..."
// level=warning msg=...` lines. logrus' standard logger is global, and
// compose-go logs through it with no way to pass a logger in, so it is
// set here, once per process, before anything is loaded. dtask says the
// warnings that matter (variables that are not set) itself, with the
// compose file and line; this catches the rest (such as the obsolete
// `version` key, whose message names its file).
func routeLogrus(stderr io.Writer) {
	logrus.SetOutput(stderr)
	logrus.SetLevel(logrus.WarnLevel)
	logrus.SetFormatter(logrusWarning{})
}

// logrusWarning formats an entry as one dtask warning line.
type logrusWarning struct{}

func (logrusWarning) Format(e *logrus.Entry) ([]byte, error) {
	return []byte("dtask: warning: compose: " + ui.EscapeText(e.Message) + "\n"), nil
}
