package vars

import "strings"

// maxTagLen is the longest image tag an engine accepts.
const maxTagLen = 128

// Slug makes s usable as an image tag, and as a path component of an
// image name: lowercased, every character other than a-z, 0-9, '_', '.'
// and '-' replaced by '-', no leading '.' or '-' (a tag must start with a
// letter, digit or '_'), at most 128 characters. A branch feature/Login
// becomes feature-login.
func Slug(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	out := strings.TrimLeft(string(b), ".-")
	if len(out) > maxTagLen {
		out = out[:maxTagLen]
	}
	return out
}
