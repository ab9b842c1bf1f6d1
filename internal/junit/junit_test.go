package junit

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// What CI tools read from a JUnit file, parsed independently of the
// writer's types.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    string   `xml:"tests,attr"`
	Failures string   `xml:"failures,attr"`
	Errors   string   `xml:"errors,attr"`
	Skipped  string   `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    string `xml:"tests,attr"`
		Failures string `xml:"failures,attr"`
		Errors   string `xml:"errors,attr"`
		Skipped  string `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string    `xml:"name,attr"`
			Classname string    `xml:"classname,attr"`
			Time      string    `xml:"time,attr"`
			Failure   *xProblem `xml:"failure"`
			Error     *xProblem `xml:"error"`
			Skipped   *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

type xProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type unreachable struct{}

func (unreachable) Error() string {
	return "cannot reach the Docker engine at unix:///var/run/docker.sock"
}
func (unreachable) ExitCode() int { return 3 }

func TestJUnit(t *testing.T) {
	results := []*engine.Result{
		{Target: "image", Status: engine.Cached, Reason: "up to date"},
		{Target: "lint", Status: engine.Ran, Duration: 1500 * time.Millisecond},
		{Target: "test", Status: engine.Failed, Duration: 2 * time.Second, Err: errors.New("target test: exited with code 1 <&> token s3cret\x01")},
		{Target: "push", Status: engine.Failed, Err: fmt.Errorf("target push: %w", unreachable{})},
		{Target: "publish", Status: engine.Skipped, Reason: `branch "x" is not one of main`},
		{Target: "deploy", Status: engine.NotRun, Reason: "dep test failed"},
	}
	tails := map[string][]string{"test": {"ok 1", "FAIL 2 s3cret"}}
	mask := func(s string) string { return strings.ReplaceAll(s, "s3cret", "***") }
	path := filepath.Join(t.TempDir(), "reports", "junit.xml")
	err := Write(path, Run{Suite: "shop", Results: results, Tail: func(n string) []string { return tails[n] },
		Mask: mask, Start: time.Now(), Elapsed: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "s3cret") {
		t.Errorf("a secret is in the report:\n%s", data)
	}
	var x xSuites
	if err := xml.Unmarshal(data, &x); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, data)
	}
	if x.Tests != "6" || x.Failures != "1" || x.Errors != "1" || x.Skipped != "2" || x.Time != "4.000" || x.Name == "" {
		t.Errorf("testsuites attributes: %+v", x)
	}
	if len(x.Suites) != 1 {
		t.Fatalf("want one testsuite, got %d", len(x.Suites))
	}
	s := x.Suites[0]
	if s.Name != "shop" || s.Tests != "6" || s.Failures != "1" || s.Errors != "1" || s.Skipped != "2" || s.Time != "4.000" {
		t.Errorf("testsuite attributes: name=%q tests=%q failures=%q errors=%q skipped=%q time=%q", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, s.Time)
	}
	if len(s.Cases) != len(results) {
		t.Fatalf("want %d testcases, got %d", len(results), len(s.Cases))
	}
	for i, c := range s.Cases {
		if c.Name != results[i].Target || c.Classname == "" {
			t.Errorf("testcase %d: name %q classname %q", i, c.Name, c.Classname)
		}
		if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
			t.Errorf("testcase %s: time %q: %v", c.Name, c.Time, err)
		}
	}
	for _, i := range []int{0, 1} {
		if c := s.Cases[i]; c.Failure != nil || c.Error != nil || c.Skipped != nil {
			t.Errorf("%s should pass", c.Name)
		}
	}
	f := s.Cases[2].Failure
	if f == nil || f.Type == "" || !strings.Contains(f.Message, "exited with code 1 <&> token ***") ||
		!strings.Contains(f.Text, "ok 1\nFAIL 2 ***") {
		t.Errorf("failure of test: %+v", f)
	}
	if e := s.Cases[3].Error; e == nil || !strings.Contains(e.Message, "cannot reach") || s.Cases[3].Failure != nil {
		t.Errorf("an unreachable engine should be an error: %+v", s.Cases[3])
	}
	if sk := s.Cases[4].Skipped; sk == nil || !strings.Contains(sk.Message, `branch "x" is not one of main`) {
		t.Errorf("skipped publish: %+v", sk)
	}
	if sk := s.Cases[5].Skipped; sk == nil || !strings.Contains(sk.Message, "dep test failed") {
		t.Errorf("not run deploy: %+v", sk)
	}
	// Atomic: only the report is left in its folder.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("leftover files beside the report: %v", entries)
	}
}

func TestJUnitUnwritable(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	err := Write(filepath.Join(blocker, "junit.xml"), Run{Tail: func(string) []string { return nil }, Mask: func(s string) string { return s }})
	if err == nil || !strings.Contains(err.Error(), "JUnit") {
		t.Errorf("want an error naming the report, got %v", err)
	}
}
