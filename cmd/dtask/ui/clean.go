package ui

import "strings"

// clean makes a line of a target's output safe to show: what a terminal
// would leave after carriage returns (progress bars redraw with \r), with
// escape sequences and other control characters removed. keepColor keeps
// SGR colour sequences (ESC [ ... m) for displays that render them.
func clean(s string, keepColor bool) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = lastSegment(s)
	}
	if !hasControl(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			n, color := escapeLen(s[i:])
			if color && keepColor {
				b.WriteString(s[i : i+n])
			}
			i += n
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f: // C1 controls (U+0080..U+009F)
			i += 2
		case c < 0x20 && c != '\t' || c == 0x7f:
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// lastSegment is the text after the last carriage return that is followed
// by something: "10%\r100%" shows "100%", "done\r" shows "done".
func lastSegment(s string) string {
	parts := strings.Split(s, "\r")
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] != "" {
			return parts[i]
		}
	}
	return ""
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f || c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f {
			return true
		}
	}
	return false
}

// escapeLen is the length of the escape sequence at the start of s (which
// begins with ESC) and whether it is an SGR colour sequence.
func escapeLen(s string) (n int, color bool) {
	if len(s) < 2 {
		return len(s), false
	}
	switch s[1] {
	case '[': // CSI: parameters and intermediates, then a final byte 0x40..0x7e
		for i := 2; i < len(s); i++ {
			if s[i] >= 0x40 && s[i] <= 0x7e {
				return i + 1, s[i] == 'm'
			}
		}
		return len(s), false
	case ']', 'P', '_', '^', 'X': // OSC, DCS...: up to BEL or ESC \
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1, false
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2, false
			}
		}
		return len(s), false
	}
	return 2, false
}
