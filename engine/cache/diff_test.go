package cache

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	old := []Line{
		{"version", FormatVersion}, {"target", "t"}, {"kind", "sh"},
		{"def.run.cmd", `["npm","test"]`}, {"def.sh", `"x"`},
		{"env.TZ", "UTC"}, {"env.LANG", "C"}, {"var.APP", "shop"},
		{"secret TOKEN", ""},
		{"src src/a.js", "1"}, {"src src/c.js", "3"}, {"src src/same.js", "s"},
		{"dep image", "k1"}, {"image.run", "sha256:1"}, {"image.service.db", "sha256:3"},
		{"def.big", strings.Repeat("a", 2000)},
	}
	cur := []Line{
		{"version", FormatVersion}, {"target", "t"}, {"kind", "sh"},
		{"def.run.cmd", `["npm","run","test"]`}, {"def.sh", `"x"`},
		{"env.TZ", "Europe/Paris"}, {"var.APP", "shop"}, {"var.NEW", "1"},
		{"src src/a.js", "2"}, {"src src/b.js", "9"}, {"src src/same.js", "s"},
		{"dep image", "k2"}, {"image.run", "sha256:2"}, {"image.service.db", "missing:mariadb:10.11"},
		{"def.big", strings.Repeat("a", 2000)},
	}
	got := strings.Join(Diff(old, cur), "\n")
	want := strings.Join([]string{
		"definition changed: run.cmd",
		"env TZ changed",
		"var NEW added",
		"src/a.js changed",
		"src/b.js added",
		"dep image re-ran",
		"image run changed",
		"image service.db missing (the run pulls it)",
		"env LANG removed",
		"secret TOKEN removed",
		"src/c.js removed",
	}, "\n")
	if got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
	if d := Diff(cur, cur); len(d) != 0 {
		t.Errorf("Diff of equal lines: %v", d)
	}
	if d := Diff(nil, cur); len(d) != 1 || d[0] != "no previous run" {
		t.Errorf("Diff from nothing: %v", d)
	}
	if d := Diff([]Line{{"version", "dtask-cache-0"}, {"kind", "build"}}, []Line{{"version", FormatVersion}, {"kind", "sh"}}); strings.Join(d, ";") != "dtask cache format changed;action changed" {
		t.Errorf("version/kind: %v", d)
	}
	// A long value as a stored record keeps it (hashed) still compares equal.
	stored := []Line{{"def.big", compactValue(strings.Repeat("a", 2000))}}
	if d := Diff(stored, []Line{{"def.big", strings.Repeat("a", 2000)}}); len(d) != 0 {
		t.Errorf("stored long value differs from itself: %v", d)
	}
	if d := Diff(stored, []Line{{"def.big", strings.Repeat("a", 1999) + "b"}}); len(d) != 1 || d[0] != "definition changed: big" {
		t.Errorf("long value change: %v", d)
	}
}
