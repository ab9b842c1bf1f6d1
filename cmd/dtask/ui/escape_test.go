package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"build":                 "build",
		"naïve ✓":               "naïve ✓",
		"a\x1b]0;x\x07b":        `a\x1b]0;x\x07b`,
		"a\nb\tc":               `a\x0ab\x09c`,
		"ab\u202ecd":            `ab\u202ecd`,
		"\xc2\x9b31m":           `\u009b31m`,
		"bad\xffutf8":           `bad\xffutf8`,
		"del\x7f":               `del\x7f`,
		"isolate\u2066x\u2069y": `isolate\u2066x\u2069y`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := EscapeText("line1\nline2\t\x1b[2J"); got != "line1\nline2\t\\x1b[2J" {
		t.Errorf("EscapeText keeps only line breaks and tabs: %q", got)
	}
}

// TestDisplaysEscapeAndMaskNames drives every mode with a target whose
// name carries a terminal title sequence and a secret: neither reaches the
// output as is.
func TestDisplaysEscapeAndMaskNames(t *testing.T) {
	name := "evil\x1b]0;pwned\x07-hunter22"
	for _, m := range []Mode{ModePlain, ModeGitHub, ModeGitLab, ModeJSON, ModeTTY} {
		var out bytes.Buffer
		mask := &Masker{}
		mask.Add("hunter22")
		mask.Add("test") // too short: must not hide the target named test
		d := newDisplay(m, &out, mask, testConfig(nil))
		d.Start(name, "reason \x1b[2J")
		o, _ := d.Output(name)
		o.Write([]byte("hello\n"))
		d.Finish(&engine.Result{Target: name, Status: engine.Failed, Err: errors.New("target " + name + ": failed")})
		d.Finish(&engine.Result{Target: "test", Status: engine.Ran, Duration: time.Second})
		d.Summary([]*engine.Result{{Target: name, Status: engine.Failed}, {Target: "test", Status: engine.Ran}}, time.Second)
		d.Close()
		got := out.String()
		for _, bad := range []string{"\x1b]", "\x07", "hunter22", "\x1b[2J"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s output holds %q:\n%s", m, bad, got)
			}
		}
		if !strings.Contains(got, "test") {
			t.Errorf("%s output lost the target named test:\n%s", m, got)
		}
	}
}
