package taskfile

import "fmt"

// Limits keep the work a task file can cause bounded: a file from a cloned
// repository is read by -l, -n and completion, which must never hang or
// exhaust memory. Each is far above what a real task file needs.
const (
	// MaxFileSize is the largest task file read, in bytes.
	MaxFileSize = 4 << 20
	// MaxDepth is the deepest nesting of tables, arrays and dotted keys.
	MaxDepth = 32
	// MaxEdges is the most deps and services all targets may list together.
	MaxEdges = 100_000
	// MaxResolved is how many bytes interpolation may produce for the whole
	// file: one value is bounded by vars.MaxValueSize, but a thousand keys
	// could each name the same long one.
	MaxResolved = 16 << 20
	// maxErrors is how many problems are reported; past it the rest are
	// counted, so that a hostile file cannot make error messages the work.
	maxErrors = 100
)

func tooLarge(name string) *Error {
	return &Error{File: name, Line: 1, Col: 1,
		Msg: fmt.Sprintf("task file is larger than the limit of %d MiB", MaxFileSize>>20)}
}

func tooDeep(name string, at Position) *Error {
	return &Error{File: name, Line: at.Line, Col: at.Col,
		Msg: fmt.Sprintf("tables, arrays and dotted keys are nested more than %d deep", MaxDepth)}
}

// edges checks the number of dependency edges before anything walks them;
// false when there are too many (the graph checks are then skipped).
func (v *validator) edges() bool {
	n := 0
	for _, name := range v.f.TargetNames() {
		t := v.f.Targets[name]
		n += len(t.Deps) + len(t.Services)
		if n > MaxEdges {
			v.c.addAt([]string{"targets", name, "deps"},
				"targets list more than %d deps and services in all (the limit); split the file or group targets", MaxEdges)
			return false
		}
	}
	return true
}
