package vars

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "a", "B": "bee", "EMPTY": "", "X_1": "x1", "lower": "lo"}
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain text", "plain text"},
		{"${A}", "a"},
		{"pre-${A}-post", "pre-a-post"},
		{"${A}${B}", "abee"},
		{"${X_1} ${lower}", "x1 lo"},
		{"${EMPTY}", ""},
		// :- and - : the colon form also replaces an empty value
		{"${A:-d}", "a"},
		{"${NOPE:-d}", "d"},
		{"${EMPTY:-d}", "d"},
		{"${A-d}", "a"},
		{"${NOPE-d}", "d"},
		{"${EMPTY-d}", ""},
		{"${NOPE:-}", ""},
		{"${NOPE:-127.0.0.1:5000}", "127.0.0.1:5000"},
		{"${NOPE:-a b  c}", "a b  c"},
		// :+ and +
		{"${A:+alt}", "alt"},
		{"${EMPTY:+alt}", ""},
		{"${EMPTY+alt}", "alt"},
		{"${NOPE+alt}", ""},
		// :? and ? when set
		{"${A:?need A}", "a"},
		{"${EMPTY?need}", ""},
		// nesting
		{"${NOPE:-${B}}", "bee"},
		{"${NOPE:-x${B}y}", "xbeey"},
		{"${NOPE:-${ALSO_NOPE:-deep}}", "deep"},
		{"${A:-${UNDEFINED}}", "a"}, // the default is expanded only when used
		{"${A:+${B}!}", "bee!"},
		// escapes and lone dollars
		{"$$", "$"},
		{"$${A}", "${A}"},
		{"$$$${A}", "$${A}"},
		{"$$${A}", "$a"},
		{"cost: 5$", "cost: 5$"},
		{"$HOME $1 $", "$HOME $1 $"},
		{"a$b", "a$b"},
		{"${NOPE:-$$}", "$"},
		{"${NOPE:-{x}}", "{x}"}, // the first } closes: word "{x", then "}" literal
		{"}{", "}{"},
		{"ünïcödé ${A} ✓", "ünïcödé a ✓"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, mapLookup(env))
		if err != nil {
			t.Errorf("Expand(%q): unexpected error %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	env := map[string]string{"A": "a", "EMPTY": ""}
	tests := []struct {
		in      string
		check   func(error) bool
		message string
	}{
		{"${NOPE}", isUndefined("NOPE"), "undefined variable NOPE"},
		{"x ${A} ${NOPE} y", isUndefined("NOPE"), "undefined variable NOPE"},
		{"${NOPE:-${ALSO}}", isUndefined("ALSO"), "undefined variable ALSO"},
		{"${NOPE:?set NOPE please}", isRequired("NOPE", "set NOPE please"), "NOPE: set NOPE please"},
		{"${EMPTY:?must not be empty}", isRequired("EMPTY", "must not be empty"), "EMPTY: must not be empty"},
		{"${NOPE?unset}", isRequired("NOPE", "unset"), "NOPE: unset"},
		{"${NOPE:?}", isRequired("NOPE", ""), "NOPE: required variable is not set"},
		{"${NOPE:?need ${A}}", isRequired("NOPE", "need a"), "NOPE: need a"},
		{"${A", isSyntax(0), "unterminated ${"},
		{"ab ${", isSyntax(3), "unterminated ${"},
		{"${A:-x", isSyntax(0), "unterminated ${"},
		{"${A:-${B}", isSyntax(0), "unterminated ${"},
		{"${}", isSyntax(0), "expected a variable name"},
		{"${1}", isSyntax(0), "expected a variable name"},
		{"${A B}", isSyntax(0), `unexpected ' '`},
		{"${A:x}", isSyntax(0), `unexpected ':'`},
		{"${A.b}", isSyntax(0), `unexpected '.'`},
		{"${A:-${9}}", isSyntax(5), "expected a variable name"},
	}
	for _, tt := range tests {
		_, err := Expand(tt.in, mapLookup(env))
		if err == nil {
			t.Errorf("Expand(%q): no error", tt.in)
			continue
		}
		if !tt.check(err) {
			t.Errorf("Expand(%q): wrong error %T %v", tt.in, err, err)
		}
		if !strings.Contains(err.Error(), tt.message) {
			t.Errorf("Expand(%q): error %q does not contain %q", tt.in, err, tt.message)
		}
	}
}

func isUndefined(name string) func(error) bool {
	return func(err error) bool {
		var u *UndefinedError
		return errors.As(err, &u) && u.Name == name
	}
}

func isRequired(name, msg string) func(error) bool {
	return func(err error) bool {
		var r *RequiredError
		return errors.As(err, &r) && r.Name == name && r.Message == msg
	}
}

func isSyntax(offset int) func(error) bool {
	return func(err error) bool {
		var s *SyntaxError
		return errors.As(err, &s) && s.Offset == offset
	}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"no refs $HOME $$ $", nil},
		{"${A}", []string{"A"}},
		{"${A}${B}${A}", []string{"A", "B"}},
		{"${A:-${B:-${C}}} ${D:?${E}} ${F+x}", []string{"A", "B", "C", "D", "E", "F"}},
		{"$${NOT} ${YES}", []string{"YES"}},
		{"${A} ${B", []string{"A"}}, // parsed up to the error
	}
	for _, tt := range tests {
		if got := Refs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Refs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
