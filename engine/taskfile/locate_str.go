package taskfile

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The locator's strings: it skips values of every kind of TOML string, and
// decodes quoted keys, so that a key path is recorded as the parser names it.

// str skips a string of any of TOML's four kinds, starting at its quote.
func (l *locator) str() {
	q := l.peek()
	escapes := q == '"'
	if triple := strings.Repeat(string(q), 3); l.hasPrefix(triple) {
		for range 3 {
			l.next()
		}
		for !l.eof() {
			if escapes && l.peek() == '\\' {
				l.next()
				l.next()
				continue
			}
			if l.hasPrefix(triple) {
				for range 3 {
					l.next()
				}
				// Up to two quotes right before the closing three belong
				// to the string: """a""""" is `a""`.
				for k := 0; k < 2 && l.peek() == q; k++ {
					l.next()
				}
				return
			}
			l.next()
		}
		return
	}
	l.next()
	for !l.eof() {
		c := l.peek()
		switch {
		case c == '\n':
			return
		case escapes && c == '\\':
			l.next()
			if l.peek() != '\n' {
				l.next()
			}
		case c == q:
			l.next()
			return
		default:
			l.next()
		}
	}
}

// unquoteBasic decodes a "..." key by TOML's escape rules (strconv.Unquote
// differs: \xHH is a byte there, a code point in TOML 1.1). The parser has
// validated the text already; anything odd is kept as written.
func unquoteBasic(raw string) string {
	body := strings.TrimSuffix(strings.TrimPrefix(raw, `"`), `"`)
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch body[i] {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\':
			b.WriteByte(body[i])
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[body[i]]
			if i+n < len(body) {
				if v, err := strconv.ParseUint(body[i+1:i+1+n], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(body[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(body[i])
		}
	}
	return b.String()
}
