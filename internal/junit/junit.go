// Package junit writes a run as a JUnit report (--junit), with the
// reports run targets copied out of their containers as suites of it.
package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/atomicfile"
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

// Run is what a report is made of.
type Run struct {
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

// report builds the report: a failed target is a failure with its
// output's last lines (an error when the engine was unreachable); skipped,
// not run and dry-run targets are skipped with the reason; cached ones pass.
func report(run Run) *junitSuites {
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

func failure(r *engine.Result, run Run) *junitProblem {
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
	var ec interface{ ExitCode() int }
	return err != nil && errors.As(err, &ec) && ec.ExitCode() == 3
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Write writes the report to path atomically: a CI step that reads it
// sees the previous report or this one, never half of one.
func Write(path string, run Run) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(report(run)); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	buf.WriteString("\n")
	if err := atomicfile.Write(path, buf.Bytes(), readable(path)); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	return nil
}

// Check says whether a report can be written at path (see
// atomicfile.Check), before the run whose report it would be.
func Check(path string) error { return atomicfile.Check(path, readable(path)) }

// readable makes the temporary file of a report beside it, readable by
// the CI tools that upload it.
func readable(path string) func() (*os.File, error) {
	return func() (*os.File, error) {
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
		if err == nil {
			err = f.Chmod(0o644)
		}
		return f, err
	}
}

// Tail is how many of a failed target's last lines a report keeps.
const Tail = 100
