package vars

import (
	"fmt"
	"strings"
)

// UndefinedError is returned for ${NAME} when NAME is not set and no default is given.
type UndefinedError struct{ Name string }

func (e *UndefinedError) Error() string { return "undefined variable " + e.Name }

// RequiredError is returned by ${NAME:?message} (or ${NAME?message}) when NAME is unset.
type RequiredError struct{ Name, Message string }

func (e *RequiredError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "required variable is not set"
	}
	return e.Name + ": " + msg
}

// MaxValueSize is the longest string an expansion may produce: forty
// variables that each double the one before would otherwise need a terabyte.
const MaxValueSize = 1 << 20

// TooLongError is an expansion that would pass MaxValueSize.
type TooLongError struct{ Name string } // the variable whose value got too long, if one

func (e *TooLongError) Error() string {
	what := "the value"
	if e.Name != "" {
		what = "the value of " + e.Name
	}
	return fmt.Sprintf("%s is longer than %d MiB (the limit)", what, MaxValueSize>>20)
}

// SyntaxError is a malformed reference such as an unterminated "${" or "${1}".
type SyntaxError struct {
	Text   string // the whole string being expanded
	Offset int    // byte offset of the offending "${"
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad variable reference at offset %d in %q: %s", e.Offset, e.Text, e.Msg)
}

// Expand interpolates s: ${NAME}, ${NAME:-default}, ${NAME-default},
// ${NAME:?message}, ${NAME?message}, ${NAME:+alt}, ${NAME+alt} with sh semantics
// (the colon forms treat an empty value like an unset one), and $$ for a literal $.
// Defaults, messages and alternatives may themselves contain references
// (${A:-${B}}), expanded only when used. A $ not followed by { or $ is literal,
// so shell text such as $HOME passes through. Backslash escapes are not special.
func Expand(s string, lookup func(name string) (string, bool)) (string, error) {
	nodes, err := parse(s)
	if err != nil {
		return "", err
	}
	return eval(nodes, func(name string) (string, bool, error) {
		v, ok := lookup(name)
		return v, ok, nil
	})
}

// Refs lists the names s references, in order of first appearance, including
// those inside defaults. For a malformed string it lists those parsed before
// the error (Expand reports the error itself).
func Refs(s string) []string {
	nodes, _ := parse(s)
	var out []string
	seen := map[string]bool{}
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			if n.name == "" {
				continue
			}
			if !seen[n.name] {
				seen[n.name] = true
				out = append(out, n.name)
			}
			walk(n.word)
		}
	}
	walk(nodes)
	return out
}

// node is a literal (name == "") or a reference ${name op word}.
type node struct {
	lit  string
	name string
	op   string // "", ":-", "-", ":?", "?", ":+", "+"
	word []node
}

type lookupFunc func(name string) (string, bool, error)

func eval(nodes []node, lookup lookupFunc) (string, error) {
	if len(nodes) == 1 && nodes[0].name == "" {
		return nodes[0].lit, nil
	}
	var b strings.Builder
	for _, n := range nodes {
		v := n.lit
		if n.name != "" {
			var err error
			if v, err = evalRef(n, lookup); err != nil {
				return "", err
			}
		}
		if b.Len()+len(v) > MaxValueSize {
			return "", &TooLongError{}
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func evalRef(n node, lookup lookupFunc) (string, error) {
	v, ok, err := lookup(n.name)
	if err != nil {
		return "", err
	}
	// set: the colon forms want a non-empty value, the others just a defined one.
	set := ok
	if strings.HasPrefix(n.op, ":") {
		set = ok && v != ""
	}
	switch strings.TrimPrefix(n.op, ":") {
	case "":
		if !ok {
			return "", &UndefinedError{Name: n.name}
		}
		return v, nil
	case "-":
		if set {
			return v, nil
		}
		return eval(n.word, lookup)
	case "?":
		if set {
			return v, nil
		}
		msg, err := eval(n.word, lookup)
		if err != nil {
			return "", err
		}
		return "", &RequiredError{Name: n.name, Message: msg}
	default: // "+"
		if set {
			return eval(n.word, lookup)
		}
		return "", nil
	}
}

// parse splits s into literals and references. On error it returns the nodes
// parsed so far along with the error.
func parse(s string) ([]node, error) {
	p := parser{s: s}
	nodes, err := p.seq(false)
	return nodes, err
}

type parser struct {
	s string
	i int
}

// seq parses until the end of the string or, inside a word, an unmatched '}'
// (left for the caller to consume).
func (p *parser) seq(inWord bool) ([]node, error) {
	var nodes []node
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			nodes = append(nodes, node{lit: lit.String()})
			lit.Reset()
		}
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '}' && inWord:
			flush()
			return nodes, nil
		case c == '$' && p.i+1 < len(p.s) && p.s[p.i+1] == '$':
			lit.WriteByte('$')
			p.i += 2
		case c == '$' && p.i+1 < len(p.s) && p.s[p.i+1] == '{':
			flush()
			n, err := p.ref()
			if err != nil {
				return nodes, err
			}
			nodes = append(nodes, n)
		default:
			lit.WriteByte(c)
			p.i++
		}
	}
	flush()
	return nodes, nil
}

// ref parses ${...} with p.i at the '$'.
func (p *parser) ref() (node, error) {
	start := p.i
	p.i += 2
	j := p.i
	for j < len(p.s) && isNameByte(p.s[j], j == p.i) {
		j++
	}
	name := p.s[p.i:j]
	p.i = j
	fail := func(msg string) (node, error) {
		return node{}, &SyntaxError{Text: p.s, Offset: start, Msg: msg}
	}
	if p.i >= len(p.s) {
		return fail("unterminated ${")
	}
	if name == "" {
		return fail(fmt.Sprintf("expected a variable name after ${, found %q", p.s[p.i]))
	}
	if p.s[p.i] == '}' {
		p.i++
		return node{name: name}, nil
	}
	op := ""
	for _, o := range []string{":-", ":?", ":+", "-", "?", "+"} {
		if strings.HasPrefix(p.s[p.i:], o) {
			op = o
			break
		}
	}
	if op == "" {
		return fail(fmt.Sprintf("unexpected %q after ${%s (want }, :-, :?, :+, -, ? or +)", p.s[p.i], name))
	}
	p.i += len(op)
	word, err := p.seq(true)
	if err != nil {
		return node{}, err
	}
	if p.i >= len(p.s) {
		return fail("unterminated ${")
	}
	p.i++ // the closing '}'
	return node{name: name, op: op, word: word}, nil
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}
