package taskfile

import "strings"

// plainReference says whether s is certainly a valid image name with an
// optional tag, by a scan that costs far less than the reference
// parser's regular expressions: ten thousand targets' tags are checked on
// every load. false means "ask the parser", not "invalid": digests, IPv6
// hosts and 64-hex IDs are always left to it.
func plainReference(s string) bool {
	if s == "" || len(s) > 255 || len(s) == 64 || strings.ContainsAny(s, "@[") {
		return false
	}
	name := s
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		if !tagSafe(s[i+1:]) {
			return false
		}
		name = s[:i]
	}
	first, rest, hasRest := strings.Cut(name, "/")
	if hasRest && (strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first) {
		if !domain(first) {
			return false
		}
	} else {
		rest = name
	}
	for {
		comp, more, ok := strings.Cut(rest, "/")
		if !pathComponent(comp) {
			return false
		}
		if !ok {
			return true
		}
		rest = more
	}
}

// pathComponent: runs of a-z0-9 joined by ".", "_", "__" or dashes.
func pathComponent(c string) bool {
	i := 0
	for {
		j := i
		for j < len(c) && (c[j] >= 'a' && c[j] <= 'z' || c[j] >= '0' && c[j] <= '9') {
			j++
		}
		if j == i {
			return false
		}
		if j == len(c) {
			return true
		}
		k := j + 1
		switch c[j] {
		case '.':
		case '_':
			if k < len(c) && c[k] == '_' {
				k++
			}
		case '-':
			for k < len(c) && c[k] == '-' {
				k++
			}
		default:
			return false
		}
		i = k
	}
}

// domain: dot-separated labels of letters, digits and inner dashes, and
// an optional :port.
func domain(d string) bool {
	host, port, hasPort := strings.Cut(d, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
		return false
	}
	for {
		label, rest, more := strings.Cut(host, ".")
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
		if !more {
			return true
		}
		host = rest
	}
}
