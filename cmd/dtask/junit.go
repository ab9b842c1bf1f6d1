package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
)

// A JUnit report as CI test views read it (GitLab, CircleCI, Jenkins and
// the GitHub reporting actions): one testcase per target.
type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

// junitCounts are the totals the report and each suite carry.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

// add counts o's tests in c (the time is the run's, not a sum).
func (c *junitCounts) add(o junitCounts) {
	c.Tests += o.Tests
	c.Failures += o.Failures
	c.Errors += o.Errors
	c.Skipped += o.Skipped
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Hostname  string      `xml:"hostname,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitRun is what a report is made of.
type junitRun struct {
	Suite   string // the project: the task file's folder name
	Results []*engine.Result
	Tail    func(target string) []string // the last lines a target printed
	Mask    func(string) string
	Start   time.Time
	Elapsed time.Duration
	// StateDir holds the reports run targets copied out of containers.
	StateDir string
	Warn     func(string)
}

// junitReport builds the report: a failed target is a failure with its
// output's last lines (an error when the engine was unreachable); skipped,
// not run and dry-run targets are skipped with the reason; cached ones pass.
func junitReport(run junitRun) *junitSuites {
	s := junitSuite{Name: run.Suite, junitCounts: junitCounts{Time: seconds(run.Elapsed)}, Timestamp: run.Start.UTC().Format("2006-01-02T15:04:05")}
	s.Hostname, _ = os.Hostname()
	for _, r := range run.Results {
		c := junitCase{Name: run.Mask(r.Target), Classname: run.Suite, Time: seconds(r.Duration)}
		switch r.Status {
		case engine.Cached:
			c.SystemOut = "cached: up to date"
		case engine.Skipped, engine.NotRun, engine.WouldRun:
			c.Skipped = &junitSkipped{Message: run.Mask(r.Status.String() + ": " + r.Reason)}
			s.Skipped++
		case engine.Failed:
			p := failure(r, run)
			if engineFault(r.Err) {
				p.Type, c.Error = "engine", p
				s.Errors++
			} else {
				c.Failure = p
				s.Failures++
			}
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	all := &junitSuites{Name: "dtask", junitCounts: s.junitCounts, Suites: []junitSuite{s}}
	if run.Warn == nil {
		run.Warn = func(string) {}
	}
	for _, r := range run.Results {
		for _, cs := range containerSuites(r, run.StateDir, run.Warn) {
			all.Suites = append(all.Suites, cs)
			all.add(cs.junitCounts)
		}
	}
	return all
}

func failure(r *engine.Result, run junitRun) *junitProblem {
	msg := r.Reason
	if r.Err != nil {
		msg = r.Err.Error()
	}
	msg = run.Mask(msg)
	var text strings.Builder
	if tail := run.Tail(r.Target); len(tail) > 0 {
		text.WriteString(run.Mask(strings.Join(tail, "\n")))
		text.WriteString("\n\n")
	}
	text.WriteString(msg)
	return &junitProblem{Message: msg, Type: "failed", Text: text.String()}
}

// engineFault tells an unreachable engine (exit 3) from a target failing.
func engineFault(err error) bool {
	var ec exitCoder
	return err != nil && errors.As(err, &ec) && ec.ExitCode() == 3
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// writeJUnit writes the report to path atomically: a CI step that reads it
// sees the previous report or this one, never half of one.
func writeJUnit(path string, run junitRun) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(junitReport(run)); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	buf.WriteString("\n")
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// junitTail is how many of a failed target's last lines a report keeps.
const junitTail = 100

// withJUnit writes --junit FILE after a run and returns the run's error,
// or the report's when the run succeeded: a CI job must not pass while
// its test report is missing.
func withJUnit(c *cli, p *dproject, rec *ui.Recorder, results []*engine.Result, start time.Time, elapsed time.Duration, err error) error {
	if c.JUnit == "" {
		return err
	}
	jerr := writeJUnit(c.JUnit, junitRun{Suite: filepath.Base(p.File.Dir), Results: results,
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
