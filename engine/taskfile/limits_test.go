package taskfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/vars"
)

// hostile builds the task files that hung dtask or exhausted its memory
// before the limits: each must now fail with one clear, placed error.
func TestLimitsHostileFiles(t *testing.T) {
	const v = "version = 1\n"
	deep := 5000
	tests := []struct {
		name, src, want string
	}{
		{"nested inline tables", v + "x = " + strings.Repeat("{a=", deep) + "1" + strings.Repeat("}", deep) + "\n",
			"t.toml:2:100: tables, arrays and dotted keys are nested more than 32 deep"},
		{"nested arrays", v + "x = " + strings.Repeat("[", deep) + strings.Repeat("]", deep) + "\n",
			"t.toml:2:37: tables, arrays and dotted keys are nested more than 32 deep"},
		{"dotted header", v + "[" + strings.Repeat("a.", deep) + "a]\n",
			"t.toml:2:67: tables, arrays and dotted keys are nested more than 32 deep"},
		{"dotted key", v + strings.Repeat("a.", deep) + "a = 1\n",
			"t.toml:2:66: tables, arrays and dotted keys are nested more than 32 deep"},
		{"too large", v + "# " + strings.Repeat("x", MaxFileSize) + "\n",
			"t.toml:1:1: task file is larger than the limit of 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrs(t, tt.src)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}

func TestLimitsTooManyEdges(t *testing.T) {
	src := "version = 1\n" + allToAll(460)
	got := parseErrs(t, src)
	const msg = ": targets list more than 100000 deps and services in all (the limit); split the file or group targets"
	var line int
	if len(got) != 1 || !strings.HasSuffix(got[0], msg) {
		t.Fatalf("errors: %q", got)
	}
	if _, err := fmt.Sscanf(got[0], "t.toml:%d:1:", &line); err != nil {
		t.Fatalf("no position in %q", got[0])
	}
	if text := strings.Split(src, "\n")[line-1]; !strings.HasPrefix(text, "deps = [") {
		t.Errorf("placed at line %d, %q: not a deps list", line, text)
	}
}

// allToAll is n targets, each depending on every one before it.
func allToAll(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[targets.t%d]\ndeps = [", i)
		for j := range i {
			fmt.Fprintf(&b, "%q,", fmt.Sprintf("t%d", j))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestLimitsDepthAtTheLimitLoads(t *testing.T) {
	ok := "version = 1\n" + strings.Repeat("a.", MaxDepth-1) + "a = 1\n"
	if got := parseErrs(t, ok); len(got) != 1 || !strings.Contains(got[0], `unknown key "a"`) {
		t.Errorf("a path of %d keys: %q, want only the unknown key", MaxDepth, got)
	}
}

func TestLimitsTooManyErrorsAreCounted(t *testing.T) {
	var b strings.Builder
	b.WriteString("version = 1\n[targets.a]\ndeps = [")
	for i := range 500 {
		fmt.Fprintf(&b, "\"nope%d\",", i)
	}
	b.WriteString("]\n")
	got := parseErrs(t, b.String())
	if len(got) != maxErrors+1 || got[maxErrors] != "t.toml: more errors not shown (the first 100 are above)" {
		t.Errorf("%d lines, last %q; want %d and a line saying more were left out", len(got), got[len(got)-1], maxErrors+1)
	}
}

func TestLimitsLoadReadsNoMoreThanTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Taskfile.toml")
	if err := os.WriteFile(path, []byte("version = 1\n#"+strings.Repeat("x", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("Load: %v", err)
	}
}

// TestLimitsLoadRefusesSpecialFiles: a task file that is a FIFO (whose
// open waits for a writer) or a device is refused at once, not read.
func TestLimitsLoadRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "Taskfile.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "cannot read task file: not a regular file") {
				t.Errorf("Load(%s): %v", path, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("Load(%s) hung: still waiting after a minute", path)
		}
	}
}

// doubling is the file whose 40 variables each double the one before.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("version = 1\n[vars]\nV0 = \"xx\"\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "V%d = \"${V%d}${V%d}\"\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "[targets.a]\nsh = \"echo ${V%d}\"\n", n)
	return b.String()
}

func resolveErrs(t *testing.T, src string) string {
	t.Helper()
	f, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	scope := vars.NewScope(vars.Layer{Name: "vars", Vars: f.Vars, Template: true})
	_, err = Resolve(f, scope)
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLimitsExpandedValueSize(t *testing.T) {
	got := resolveErrs(t, doubling(40))
	// V20 is the first value over 1 MiB: placed at its definition.
	want := "t.toml:23:1: targets.a.sh: the value of V20 is longer than 1 MiB (the limit)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestLimitsTotalInterpolation(t *testing.T) {
	var b strings.Builder
	b.WriteString(doubling(18)) // V18: 512 KiB, under the limit for one value
	for i := range 40 {
		fmt.Fprintf(&b, "[targets.b%d]\nsh = \"${V18}\"\n", i)
	}
	got := resolveErrs(t, b.String())
	if !strings.Contains(got, "interpolated values add up to more than 16 MiB") || strings.Count(got, "\n") != 0 {
		t.Errorf("got %q, want one line about the total", got)
	}
}

func TestLimitsManyCyclesAreCut(t *testing.T) {
	var b strings.Builder
	b.WriteString("version = 1\n")
	const n = 300 // every target depends on every other: 89,700 edges
	for i := range n {
		fmt.Fprintf(&b, "[targets.t%d]\ndeps = [", i)
		for j := range n {
			if j != i {
				fmt.Fprintf(&b, "\"t%d\",", j)
			}
		}
		b.WriteString("]\n")
	}
	got := parseErrs(t, b.String())
	if len(got) != maxErrors+1 || !strings.Contains(got[0], "dependency cycle: ") {
		t.Errorf("%d lines, first %q; want %d cycles and the line saying more were left out", len(got), got[0], maxErrors)
	}
}
