package junit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// A run target's stored reports become suites of the --junit report,
// cached or not, with totals counted from their cases.
func TestJUnitMergesContainerReports(t *testing.T) {
	state := t.TempDir()
	if err := os.MkdirAll(filepath.Join(state, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	xml := `<testsuites><testsuite name="pkg/a"><testcase name="TestOK" classname="a"/>` +
		`<testcase name="TestBad" classname="a"><failure message="want 1">got 2</failure></testcase></testsuite></testsuites>`
	if err := os.WriteFile(filepath.Join(state, "reports", "abc.xml"), []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	res := []*engine.Result{{Target: "test", Status: engine.Cached, Outputs: engine.Outputs{"report:/out/junit.xml": "abc.xml"}}}
	j := report(Run{Suite: "proj", Results: res, Tail: func(string) []string { return nil },
		Mask: func(s string) string { return s }, Start: time.Now(), StateDir: state})
	if j.Tests != 3 || j.Failures != 1 || len(j.Suites) != 2 {
		t.Fatalf("tests=%d failures=%d suites=%d, want 3, 1, 2", j.Tests, j.Failures, len(j.Suites))
	}
	s := j.Suites[1]
	if s.Name != "test: pkg/a" || s.Tests != 2 || s.Failures != 1 || s.Cases[1].Failure == nil {
		t.Errorf("suite = %+v", s)
	}
	fc := FailedCases(res, state)
	if len(fc) != 1 || fc[0][0] != "test: pkg/a: TestBad" || !strings.Contains(fc[0][1], "got 2") {
		t.Errorf("FailedCases = %v", fc)
	}
	// A missing report is a warning, never a failure.
	var warned []string
	res[0].Outputs["report:/out/other.xml"] = "gone.xml"
	report(Run{Results: res, Tail: func(string) []string { return nil }, Mask: func(s string) string { return s },
		StateDir: state, Warn: func(m string) { warned = append(warned, m) }})
	if len(warned) != 1 {
		t.Errorf("warnings = %v", warned)
	}
}
