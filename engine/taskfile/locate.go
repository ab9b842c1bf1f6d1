package taskfile

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// BurntSushi/toml does not say where keys are written, so the locator scans
// the source itself. It understands just enough TOML to follow key paths:
// table headers, dotted and quoted keys, inline tables (also across lines),
// arrays, strings of every kind and comments. It never fails: on text that is
// not TOML it records what it can and moves on.

// keyString renders a key path as position keys are written: toml.Key's
// form, with pieces quoted when they are not bare keys.
func keyString(path []string) string { return toml.Key(path).String() }

// indexKey names element i of the array at path, e.g. "targets.a.deps[1]".
func indexKey(path []string, i int) string {
	return keyString(path) + "[" + strconv.Itoa(i) + "]"
}

type locator struct {
	src       string
	i         int
	line      int
	lineStart int
	pos       Positions
	vars      []string // names under [vars], in file order
	depth     int      // open arrays (inline tables deepen the key path)
	tooDeep   *Position
}

// locate returns the position of every key path in src (the last piece of
// each path, where first written) and the [vars] names in file order.
// Array elements are recorded too, as "path[i]". When nesting goes past
// MaxDepth it stops there and returns where: it runs before the TOML parser,
// whose work on deep nesting is not bounded.
func locate(src string) (Positions, []string, *Position) {
	l := &locator{src: src, line: 1, pos: Positions{}}
	if strings.HasPrefix(src, "\uFEFF") {
		l.i = len("\uFEFF")
		l.lineStart = l.i
	}
	l.document()
	return l.pos, l.vars, l.tooDeep
}

// deeper counts one more level of nesting at the current position; false
// (and the scan ended) past MaxDepth.
func (l *locator) deeper(levels int) bool {
	if levels <= MaxDepth {
		return true
	}
	if l.tooDeep == nil {
		l.tooDeep = &Position{Line: l.line, Col: l.col()}
	}
	l.i = len(l.src)
	return false
}

func (l *locator) eof() bool { return l.i >= len(l.src) }

func (l *locator) peek() byte {
	if l.eof() {
		return 0
	}
	return l.src[l.i]
}

func (l *locator) next() {
	if l.eof() {
		return
	}
	if l.src[l.i] == '\n' {
		l.line++
		l.lineStart = l.i + 1
	}
	l.i++
}

func (l *locator) col() int { return l.i - l.lineStart + 1 }

func (l *locator) hasPrefix(s string) bool { return strings.HasPrefix(l.src[l.i:], s) }

func (l *locator) record(key string, line, col int) {
	if _, ok := l.pos[key]; !ok {
		l.pos[key] = Position{Line: line, Col: col}
	}
}

// skipSpace skips blanks on the current line.
func (l *locator) skipSpace() {
	for c := l.peek(); c == ' ' || c == '\t' || c == '\r'; c = l.peek() {
		l.next()
	}
}

// skipBlank skips blanks, newlines and comments.
func (l *locator) skipBlank() {
	for !l.eof() {
		switch l.peek() {
		case ' ', '\t', '\r', '\n':
			l.next()
		case '#':
			l.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (l *locator) skipLine() {
	for !l.eof() && l.peek() != '\n' {
		l.next()
	}
	l.next()
}

func (l *locator) document() {
	var table []string
	for {
		l.skipBlank()
		if l.eof() {
			return
		}
		start := l.i
		if l.peek() == '[' {
			table = l.header()
		} else {
			l.keyValue(table)
		}
		// Whatever is left on the line is a comment (or text that is not
		// TOML, which the parser has reported already).
		if l.i == start || l.peek() != '\n' {
			l.skipLine()
		}
	}
}

// header reads [a.b] or [[a.b]] and returns the table's path.
func (l *locator) header() []string {
	l.next()
	if l.peek() == '[' {
		l.next()
	}
	path := l.key(nil)
	l.skipSpace()
	for l.peek() == ']' {
		l.next()
	}
	return path
}

// key reads a dotted key, recording every prefix of prefix+key, and returns
// the full path.
func (l *locator) key(prefix []string) []string {
	path, _ := l.keyText(prefix)
	return path
}

// keyText is key, also returning the path's key string.
func (l *locator) keyText(prefix []string) ([]string, string) {
	path := append([]string(nil), prefix...)
	// The key text grows piece by piece rather than being rendered again
	// for every prefix, which was quadratic in the depth.
	ks := keyString(path)
	for {
		l.skipSpace()
		line, col := l.line, l.col()
		piece, ok := l.keyPiece()
		if !ok || !l.deeper(len(path)+1+l.depth) {
			return path, ks
		}
		path = append(path, piece)
		if ks != "" {
			ks += "."
		}
		ks += keyString([]string{piece})
		l.record(ks, line, col)
		if len(path) == 2 && path[0] == "vars" {
			l.addVar(path[1])
		}
		l.skipSpace()
		if l.peek() != '.' {
			return path, ks
		}
		l.next()
	}
}

func (l *locator) addVar(name string) {
	for _, v := range l.vars {
		if v == name {
			return
		}
	}
	l.vars = append(l.vars, name)
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (l *locator) keyPiece() (string, bool) {
	switch c := l.peek(); {
	case c == '"' || c == '\'':
		start := l.i
		l.str()
		raw := l.src[start:l.i]
		if c == '\'' {
			return strings.Trim(raw, "'"), true
		}
		return unquoteBasic(raw), true
	case isBare(c):
		start := l.i
		for isBare(l.peek()) {
			l.next()
		}
		return l.src[start:l.i], true
	}
	return "", false
}

// keyValue reads `key = value` inside the table at prefix.
func (l *locator) keyValue(prefix []string) {
	path, ks := l.keyText(prefix)
	if len(path) == len(prefix) {
		return
	}
	l.skipSpace()
	if l.peek() != '=' {
		return
	}
	l.next()
	l.skipSpace()
	l.value(path, ks)
}

// value skips one value; path is where keys of inline tables go and ref
// names the value for array element positions.
func (l *locator) value(path []string, ref string) {
	switch l.peek() {
	case '"', '\'':
		l.str()
	case '{':
		l.inlineTable(path)
	case '[':
		l.array(path, ref)
	default:
		for !l.eof() && !strings.ContainsRune(",]}\n#", rune(l.peek())) {
			l.next()
		}
	}
}

func (l *locator) inlineTable(path []string) {
	l.next()
	for !l.eof() {
		l.skipBlank()
		switch l.peek() {
		case '}':
			l.next()
			return
		case ',':
			l.next()
			continue
		case '[', ']', '=':
			return // not TOML; let the caller resynchronise
		}
		start := l.i
		l.keyValue(path)
		if l.i == start {
			l.next()
		}
	}
}

func (l *locator) array(path []string, ref string) {
	l.next()
	l.depth++
	defer func() { l.depth-- }()
	if !l.deeper(len(path) + l.depth) {
		return
	}
	for n := 0; !l.eof(); {
		l.skipBlank()
		switch l.peek() {
		case ']':
			l.next()
			return
		case ',':
			l.next()
			continue
		}
		start := l.i
		elem := ref + "[" + strconv.Itoa(n) + "]"
		l.record(elem, l.line, l.col())
		l.value(path, elem)
		n++
		if l.i == start {
			l.next()
		}
	}
}
