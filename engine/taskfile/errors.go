package taskfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Error is one problem in a task file. Line and Col are 1-based; 0 means unknown.
type Error struct {
	File      string
	Line, Col int
	Msg       string
	Path      string // the dotted key path the error is about, when known

	err error // optional cause, for errors.Is (e.g. ErrNotFound)
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line <= 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col <= 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.err }

// ExitCode is 2: a bad task file or bad usage.
func (e *Error) ExitCode() int { return 2 }

// Errors is every problem found in a task file, one per line when printed.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// ExitCode is 2: a bad task file or bad usage.
func (es Errors) ExitCode() int { return 2 }

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders errors by position so that output is the same every run.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
}

// collector gathers errors for one file, placing them by key path.
type collector struct {
	file    string
	pos     *positions
	errs    Errors
	dropped bool // errors past maxErrors were left out
}

// full reports whether further errors would only be counted.
func (c *collector) full() bool { return len(c.errs) >= maxErrors }

// result is the errors found, nil for none, ordered, with a last line
// counting those left out.
func (c *collector) result() Errors {
	if len(c.errs) == 0 {
		return nil
	}
	sortErrors(c.errs)
	if c.dropped {
		c.errs = append(c.errs, &Error{File: c.file, Msg: fmt.Sprintf("more errors not shown (the first %d are above)", maxErrors)})
	}
	return c.errs
}

// add records msg at the position of the first of paths that has one.
func (c *collector) add(paths []string, format string, args ...any) {
	if c.full() {
		c.dropped = true
		return
	}
	e := &Error{File: c.file, Msg: fmt.Sprintf(format, args...)}
	if len(paths) > 0 {
		e.Path = paths[0]
	}
	for _, p := range paths {
		if at, ok := c.pos.get()[p]; ok {
			e.Line, e.Col = at.Line, at.Col
			break
		}
	}
	c.errs = append(c.errs, e)
}

// addAt records msg at the key path, or at the nearest enclosing key written.
func (c *collector) addAt(path []string, format string, args ...any) {
	c.add(ancestors(path), format, args...)
}

// ancestors lists the path and its parents as position keys, longest first.
func ancestors(path []string) []string {
	out := make([]string, 0, len(path))
	for n := len(path); n > 0; n-- {
		out = append(out, keyString(path[:n]))
	}
	return out
}

// displayPath is how a task file is named in messages: relative to the
// working folder when it is inside it, else as given.
func displayPath(path string) string {
	if !filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return rel
}

// ErrorAt is a problem with the value of the dotted key path (as in Pos),
// placed where the key is written; for checks made after loading.
func (f *File) ErrorAt(key, format string, args ...any) *Error {
	name := f.name
	if name == "" && f.Path != "" {
		name = displayPath(f.Path)
	}
	c := &collector{file: name, pos: f.pos}
	c.add([]string{key}, format, args...)
	return c.errs[0]
}
