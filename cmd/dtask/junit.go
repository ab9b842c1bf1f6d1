package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/junit"
)

// withJUnit writes --junit FILE after a run and returns the run's error,
// or the report's when the run succeeded: a CI job must not pass while
// its test report is missing.
func withJUnit(c *cli, p *dproject, rec *ui.Recorder, results []*engine.Result, start time.Time, elapsed time.Duration, err error) error {
	if c.JUnit == "" {
		return err
	}
	jerr := junit.Write(c.JUnit, junit.Run{Suite: filepath.Base(p.File.Dir), Results: results,
		Tail: rec.Tail, Mask: p.Mask.Mask, Start: start, Elapsed: elapsed,
		StateDir: p.StateDir(), Warn: func(msg string) { rec.Message("dtask: warning: " + msg) }})
	if jerr == nil {
		return err
	}
	if err == nil {
		return jerr
	}
	rec.Message("dtask: " + jerr.Error())
	return err
}

// annotateCases shows each failed test case of the containers' reports
// as its own annotation on GitHub (a line per case elsewhere), so a
// failing test is named on the run's page, not only its target.
func annotateCases(mode ui.Mode, disp ui.Display, results []*engine.Result, stateDir string) {
	for _, fc := range junit.FailedCases(results, stateDir) {
		if mode == ui.ModeGitHub {
			disp.Message(fmt.Sprintf("::error title=%s::%s", ghProperty(fc[0]+" failed"), ghData(fc[1])))
			continue
		}
		disp.Message("test failed: " + fc[0] + ": " + firstLine(fc[1]))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
