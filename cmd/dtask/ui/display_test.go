package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var clock = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// script drives a display through a run: a cached target, two targets
// whose output interleaves (one with a partial last line and colours),
// a skipped target, a failure with output and a secret, a target not run
// after it, and the summary.
func script(d Display) {
	d.Message("loading 1 image from the cache")
	d.Finish(&engine.Result{Target: "image", Kind: "build", Status: engine.Cached, Reason: "up to date",
		Outputs: engine.Outputs{"image": "sha256:0123456789abcdef0123"}})

	d.Start("lint", "source changed: src/app.js")
	lo, le := d.Output("lint")
	d.Start("test", "dep image was rebuilt")
	to, te := d.Output("test")
	io.WriteString(lo, "checking 12 files\n")
	io.WriteString(to, "\x1b[32mok\x1b[0m   db connects\n")
	d.Progress("test", "step 2/3")
	io.WriteString(le, "warning: unused var\nno newline at the end")
	io.WriteString(to, "progress 10%\rprogress 100%\n")
	d.Finish(&engine.Result{Target: "lint", Kind: "sh", Status: engine.Ran, Duration: 1234 * time.Millisecond, Reason: "source changed: src/app.js"})

	d.Finish(&engine.Result{Target: "publish", Kind: "push", Status: engine.Skipped, Reason: `branch "feature/x" is not one of main, master`})
	io.WriteString(te, "FAIL cart total: want 3, got 2 (token hunter2)\n")
	d.Finish(&engine.Result{Target: "test", Kind: "run", Status: engine.Failed, Duration: 3456 * time.Millisecond,
		Reason: "dep image was rebuilt", Err: errors.New(`target test: command "npm test" exited with code 1`)})
	d.Finish(&engine.Result{Target: "deploy", Kind: "deploy", Status: engine.NotRun, Reason: "dep test failed"})

	d.Summary(scriptResults(), 5678*time.Millisecond)
	d.Close()
}

// scriptResults are the results script's summary shows, in finish order.
func scriptResults() []*engine.Result {
	return []*engine.Result{
		{Target: "image", Status: engine.Cached, Reason: "up to date", Outputs: engine.Outputs{"image": "sha256:0123456789abcdef0123"}},
		{Target: "lint", Status: engine.Ran, Duration: 1234 * time.Millisecond, Reason: "source changed: src/app.js"},
		{Target: "publish", Status: engine.Skipped, Reason: `branch "feature/x" is not one of main, master`},
		{Target: "test", Status: engine.Failed, Duration: 3456 * time.Millisecond, Err: errors.New(`target test: command "npm test" exited with code 1`)},
		{Target: "deploy", Status: engine.NotRun, Reason: "dep test failed"},
	}
}

func testConfig(env map[string]string) config {
	return config{now: func() time.Time { return clock }, getenv: func(k string) string { return env[k] }}
}

func run(t *testing.T, m Mode, cfg config) string {
	t.Helper()
	var out bytes.Buffer
	mask := &Masker{}
	mask.Add("hunter2")
	script(newDisplay(m, &out, mask, cfg))
	return out.String()
}

// visible shows control characters in golden files.
func visible(s string) string {
	return strings.NewReplacer("\x1b", `\e`, "\r", `\r`).Replace(s)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode
		env  map[string]string
	}{
		{"plain", ModePlain, nil},
		{"github", ModeGitHub, nil},
		{"gitlab", ModeGitLab, nil},
		{"json", ModeJSON, nil},
		{"tty_nocolor", ModeTTY, map[string]string{"NO_COLOR": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.env)
			cfg.forceColor = true // NO_COLOR must win over a colour terminal
			got := run(t, tc.mode, cfg)
			if strings.Contains(got, "hunter2") {
				t.Errorf("a secret is shown:\n%s", got)
			}
			golden(t, tc.name, visible(got))
		})
	}
}

// TestNoControlCodes: plain and GitHub output carry no escape or other
// control character at all, even when a target prints colours.
func TestNoControlCodes(t *testing.T) {
	for _, m := range []Mode{ModePlain, ModeGitHub, ModeJSON} {
		got := run(t, m, testConfig(nil))
		for i, c := range []byte(got) {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Errorf("%s: control byte %#x at %d in:\n%s", m, c, i, got)
				break
			}
		}
	}
}

// TestGitLabMarkers: GitLab needs section markers in its own format,
// ESC[0K...\r ESC[0K; besides them only the targets' colours (which
// GitLab's log renders) may carry an escape.
func TestGitLabMarkers(t *testing.T) {
	got := run(t, ModeGitLab, testConfig(nil))
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	if !sgr.MatchString(got) {
		t.Errorf("the target's colours are lost")
	}
	for _, l := range strings.Split(sgr.ReplaceAllString(got, ""), "\n") {
		if !strings.Contains(l, "\x1b") {
			continue
		}
		if !strings.HasPrefix(l, "\x1b[0Ksection_") || !strings.Contains(l, "\r\x1b[0K") {
			t.Errorf("control codes outside a section marker: %q", l)
		}
	}
	if n, m := strings.Count(got, "section_start:"), strings.Count(got, "section_end:"); n != 2 || m != 2 {
		t.Errorf("want 2 sections started and ended, got %d and %d", n, m)
	}
}

// TestNoColor: at a terminal the display is coloured unless NO_COLOR is set.
func TestNoColor(t *testing.T) {
	cfg := testConfig(nil)
	cfg.forceColor = true
	if got := run(t, ModeTTY, cfg); !strings.Contains(got, "\x1b[32mok") || !strings.Contains(got, "m✓") {
		t.Errorf("without NO_COLOR, want colours (the target's and dtask's), got:\n%q", got)
	}
	cfg.getenv = func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	got := run(t, ModeTTY, cfg)
	if strings.Contains(got, "m") && strings.Contains(got, "\x1b[3") || strings.Contains(got, "\x1b[1m") || strings.Contains(got, "\x1b[0m") {
		t.Errorf("NO_COLOR set, but colour or emphasis codes remain:\n%q", got)
	}
}

// TestJSONEvents checks each line is an event a tool can use.
func TestJSONEvents(t *testing.T) {
	got := run(t, ModeJSON, testConfig(nil))
	var events []Event
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		events = append(events, e)
	}
	find := func(event, target string) *Event {
		for i := range events {
			if events[i].Event == event && events[i].Target == target {
				return &events[i]
			}
		}
		t.Fatalf("no %s event for %q in:\n%s", event, target, got)
		return nil
	}
	find("start", "lint")
	if e := find("finished", "lint"); e.DurationMS == nil || *e.DurationMS != 1234 {
		t.Errorf("lint duration: %v", e.DurationMS)
	}
	if e := find("cached", "image"); e.Image == "" || e.DurationMS == nil {
		t.Errorf("cached event lacks image or duration: %+v", e)
	}
	if e := find("skipped", "publish"); !strings.Contains(e.Reason, "feature/x") {
		t.Errorf("skipped reason: %q", e.Reason)
	}
	f := find("failed", "test")
	if !strings.Contains(f.Error, "exited with code 1") || len(f.Tail) == 0 || !strings.Contains(f.Tail[len(f.Tail)-1], "token ***") {
		t.Errorf("failed event: %+v", f)
	}
	find("not_run", "deploy")
	if e := find("output", "lint"); e.Stream != "stdout" || e.Line != "checking 12 files" {
		t.Errorf("first lint output: %+v", e)
	}
	s := events[len(events)-1]
	if s.Event != "summary" || len(s.Results) != 5 || s.Counts["failed"] != 1 || s.Counts["not_run"] != 1 {
		t.Errorf("summary: %+v", s)
	}
}

// TestGitHubStreamsLive: the first target's lines appear inside its open
// group before it finishes; a second target's are held until its turn.
func TestGitHubStreamsLive(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(ModeGitHub, &out, &Masker{}, testConfig(nil))
	d.Start("a", "r")
	ao, _ := d.Output("a")
	d.Start("b", "r")
	bo, _ := d.Output("b")
	io.WriteString(ao, "a1\n")
	io.WriteString(bo, "b1\n")
	if want := "::group::a (r)\na1\n"; out.String() != want {
		t.Fatalf("live output: got %q, want %q", out.String(), want)
	}
	io.WriteString(bo, "b2\n")
	d.Finish(&engine.Result{Target: "a", Status: engine.Ran})
	want := "::group::a (r)\na1\n::endgroup::\n[a] done in 0s\n::group::b (r)\nb1\nb2\n"
	if out.String() != want {
		t.Fatalf("after a: got %q, want %q", out.String(), want)
	}
	d.Close()
	if !strings.HasSuffix(out.String(), "b2\n::endgroup::\n") {
		t.Errorf("Close leaves a group open: %q", out.String())
	}
}

func TestRecorderTails(t *testing.T) {
	mask := &Masker{}
	mask.Add("hunter2")
	r := Record(newDisplay(ModePlain, io.Discard, mask, testConfig(nil)), mask, 2)
	r.Start("x", "")
	o, e := r.Output("x")
	io.WriteString(o, "one\ntwo\n")
	io.WriteString(e, "\x1b[31mthree hunter2\x1b[0m\nfour")
	r.Finish(&engine.Result{Target: "x", Status: engine.Failed})
	if got := strings.Join(r.Tail("x"), "|"); got != "three ***|four" {
		t.Errorf("tail: %q", got)
	}
	r.Start("x", "")
	if got := r.Tail("x"); len(got) != 0 {
		t.Errorf("a new run keeps the old tail: %q", got)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                        "plain",
		"\x1b[1;31mred\x1b[0m":         "red",
		"a\tb":                         "a\tb",
		"10%\r50%\r100%":               "100%",
		"done\r":                       "done",
		"\x1b]0;title\x07text":         "text",
		"\x1b]8;;http://x\x1b\\link":   "link",
		"bell\x07 del\x7f c1\u009bend": "bell del c1end",
		"\x1b[2K\x1b[1Gline":           "line",
		"héllo wörld":                  "héllo wörld",
	} {
		if got := clean(in, false); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clean("\x1b[2K\x1b[32mok\x1b[0m", true); got != "\x1b[32mok\x1b[0m" {
		t.Errorf("keepColor: %q", got)
	}
}

// TestQuietProgress: logs show a target's progress only after it has been
// silent for quietFor, so that a long transfer does not look hung.
func TestQuietProgress(t *testing.T) {
	for _, m := range []Mode{ModePlain, ModeGitHub} {
		now := clock
		cfg := testConfig(nil)
		cfg.now = func() time.Time { return now }
		var out bytes.Buffer
		d := newDisplay(m, &out, &Masker{}, cfg)
		d.Start("push", "r")
		d.Progress("push", "pushing 10%")
		now = now.Add(quietFor - time.Second)
		d.Progress("push", "pushing 20%")
		now = now.Add(2 * time.Second)
		d.Progress("push", "pushing 60%")
		d.Progress("push", "pushing 70%")
		got := out.String()
		if strings.Contains(got, "10%") || strings.Contains(got, "20%") || !strings.Contains(got, "pushing 60%\n") || strings.Contains(got, "70%") {
			t.Errorf("%s: want only the progress after %s of silence, got:\n%s", m, quietFor, got)
		}
	}
}

func TestGitHubStepSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(path, []byte("earlier step\n"), 0o644)
	var out bytes.Buffer
	mask := &Masker{}
	mask.Add("hunter2")
	script(newDisplay(ModeGitHub, &out, mask, testConfig(map[string]string{"GITHUB_STEP_SUMMARY": path})))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, w := range []string{"earlier step\n### dtask\n", "| Target | Result | Time | Detail |", "| test | failed | 3.5s | target test: command \"npm test\" exited with code 1 |", "1 ran, 1 cached"} {
		if !strings.Contains(got, w) {
			t.Errorf("job summary lacks %q:\n%s", w, got)
		}
	}
}

// TestGitHubFailureBeforeStart: a target that fails before it runs (while
// planning) still gets its ::error annotation.
func TestGitHubFailureBeforeStart(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(ModeGitHub, &out, &Masker{}, testConfig(nil))
	d.Finish(&engine.Result{Target: "img", Status: engine.Failed, Err: errors.New("target img: image busybox:9 is missing")})
	want := "[img] FAILED: target img: image busybox:9 is missing\n::error title=dtask%3A target img failed::target img: image busybox:9 is missing\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestConcurrent drives every mode from many goroutines, as parallel
// targets do; run with -race.
func TestConcurrent(t *testing.T) {
	for _, m := range []Mode{ModePlain, ModeGitHub, ModeGitLab, ModeJSON, ModeTTY} {
		var out syncBuffer
		mask := &Masker{}
		d := Record(newDisplay(m, &out, mask, config{now: time.Now, getenv: func(string) string { return "" }, animate: true}), mask, 5)
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			go func(i int) {
				defer func() { done <- struct{}{} }()
				name := fmt.Sprintf("t%d", i)
				d.Start(name, "r")
				o, e := d.Output(name)
				for j := 0; j < 50; j++ {
					fmt.Fprintf(o, "line %d\n", j)
					fmt.Fprintf(e, "err %d", j)
					d.Progress(name, "p")
				}
				d.Finish(&engine.Result{Target: name, Status: engine.Ran})
			}(i)
		}
		for i := 0; i < 8; i++ {
			<-done
		}
		d.Close()
		if got := d.Tail("t3"); len(got) != 5 {
			t.Errorf("%s: tail of t3: %q", m, got)
		}
		if m != ModeTTY && m != ModeJSON && strings.Count(out.String(), "line 49") != 8 {
			t.Errorf("%s: lost lines:\n%s", m, out.String())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSummarySaysWhyItFailed: under the table, the last lines a failed
// target printed; nothing for one that passed.
func TestSummarySaysWhyItFailed(t *testing.T) {
	mask := &Masker{}
	var out strings.Builder
	r := Record(newDisplay(ModePlain, &out, mask, testConfig(nil)), mask, 100)
	for _, name := range []string{"ok", "bad"} {
		r.Start(name, "no previous run")
		o, _ := r.Output(name)
		for i := range 8 {
			fmt.Fprintf(o, "%s line %d\n", name, i)
		}
	}
	results := []*engine.Result{{Target: "ok", Status: engine.Ran, Reason: "no previous run"},
		{Target: "bad", Status: engine.Failed, Reason: `command "make" exited with code 2`}}
	for _, res := range results {
		r.Finish(res)
	}
	r.Summary(results, time.Second)
	got := out.String()
	summary := got[strings.Index(got, "TARGET"):]
	if !strings.Contains(summary, "bad failed; its last lines:\n  bad line 3\n") || !strings.Contains(summary, "  bad line 7\n") {
		t.Errorf("the summary lacks the failing target's last lines:\n%s", summary)
	}
	if strings.Contains(summary, "bad line 2\n") || strings.Contains(summary, "ok line") {
		t.Errorf("the summary repeats more than the failure's last lines:\n%s", summary)
	}
	if !strings.Contains(summary, "no previous run") {
		t.Errorf("the summary does not say why ok ran:\n%s", summary)
	}
}
