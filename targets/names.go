package targets

import "strings"

// RepoPart turns a name into a lower-case repository path component.
func RepoPart(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			sep = false
		} else {
			sep = true
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// TagPart is s as a tag component: RepoPart, at most 100 characters.
func TagPart(s string) string {
	t := RepoPart(s)
	if len(t) > 100 {
		t = t[:100]
	}
	return t
}

// ShortID is an image ID as docker prints it.
func ShortID(id string) string {
	if len(id) > 19 && id[:7] == "sha256:" {
		return id[7:19]
	}
	return id
}
