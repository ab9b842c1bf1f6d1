package junit

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets/run"
)

// containerSuites reads the JUnit reports a run target copied out of its
// container (kept with its record, so a cached target gives the same
// ones), each suite named after the target. A report that cannot be read
// is a warning, not a failure.
func containerSuites(r *engine.Result, stateDir string, warn func(string)) []junitSuite {
	var out []junitSuite
	for _, path := range run.Reports(r.Outputs, stateDir) {
		suites, err := readJUnit(path)
		if err != nil {
			warn(fmt.Sprintf("target %s: report: %v", r.Target, err))
			continue
		}
		for _, s := range suites {
			s.Name = r.Target + ": " + s.Name
			recount(&s)
			out = append(out, s)
		}
	}
	return out
}

// recount sets a suite's totals from its cases: writers differ in which
// attributes they fill.
func recount(s *junitSuite) {
	s.Tests, s.Failures, s.Errors, s.Skipped = len(s.Cases), 0, 0, 0
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
}

// readJUnit reads a JUnit file whose root is <testsuites> or <testsuite>.
func readJUnit(path string) ([]junitSuite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var all junitSuites
	if err := xml.Unmarshal(data, &all); err == nil {
		return all.Suites, nil
	}
	var one junitSuite
	if err := xml.Unmarshal(data, &one); err != nil {
		return nil, fmt.Errorf("not JUnit XML: %w", err)
	}
	return []junitSuite{one}, nil
}

// FailedCases lists "suite: case" and the message of each failed case of
// the reports of results, for CI annotations.
func FailedCases(results []*engine.Result, stateDir string) [][2]string {
	var out [][2]string
	for _, r := range results {
		for _, s := range containerSuites(r, stateDir, func(string) {}) {
			for _, c := range s.Cases {
				p := c.Failure
				if p == nil {
					p = c.Error
				}
				if p != nil {
					out = append(out, [2]string{s.Name + ": " + c.Name, strings.TrimSpace(p.Message + "\n" + p.Text)})
				}
			}
		}
	}
	return out
}
