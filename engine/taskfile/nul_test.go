package taskfile

import (
	"strings"
	"testing"
)

// TestCheckNUL: each place a NUL can hide is reported, and a clean file
// (the fast path) is not.
func TestCheckNUL(t *testing.T) {
	clean := func() *File {
		return &File{Env: map[string]string{"A": "a"}, Targets: map[string]*Target{
			"a": {Sh: []string{"true"}, Env: map[string]string{"B": "b"}},
			"b": {Sh: []string{"echo b"}},
		}}
	}
	if err := CheckNUL(clean()); err != nil {
		t.Fatalf("clean file: %v", err)
	}
	for name, spoil := range map[string]func(f *File){
		"env value":        func(f *File) { f.Env["A"] = "x\x00y" },
		"env name":         func(f *File) { f.Env["A\x00"] = "x" },
		"target env value": func(f *File) { f.Targets["a"].Env["B"] = "\x00" },
		"sh command":       func(f *File) { f.Targets["b"].Sh = []string{"true", "echo a\x00b"} },
	} {
		f := clean()
		spoil(f)
		err := CheckNUL(f)
		if err == nil || !strings.Contains(err.Error(), "NUL character") {
			t.Errorf("%s: got %v, want a NUL error", name, err)
		}
	}
}
