package taskfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/engine/vars"
)

// madeFrom names the variables a bad reference was made from whose
// values do not fit in a tag, following [vars] and [environments] as
// written down to the values they end in (a branch, a CI variable), with
// ${GIT_BRANCH_SLUG} offered for GIT_BRANCH. Empty when there are none.
func madeFrom(raw *File, lookup func(string) (string, bool), written string) string {
	var parts []string
	for _, name := range leafRefs(raw, written) {
		v, ok := lookup(name)
		if !ok || tagSafe(v) {
			continue
		}
		part := fmt.Sprintf("%s is %q", name, v)
		if name == "GIT_BRANCH" {
			part += fmt.Sprintf(" (${GIT_BRANCH_SLUG}, %q, is a form of it that fits in a tag)", vars.Slug(v))
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

// leafRefs lists the variables s refers to, through the definitions in
// [vars] and [environments] that refer to others, in order of first use.
func leafRefs(raw *File, s string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		for _, name := range vars.Refs(s) {
			if seen[name] {
				continue
			}
			seen[name] = true
			defs := definitions(raw, name)
			if !slices.ContainsFunc(defs, func(d string) bool { return strings.Contains(d, "$") }) {
				out = append(out, name)
			}
			for _, d := range defs {
				walk(d)
			}
		}
	}
	walk(s)
	return out
}

// definitions are the values the file gives name, in [vars] and in each
// environment.
func definitions(raw *File, name string) []string {
	var out []string
	if v, ok := raw.Vars[name]; ok {
		out = append(out, v)
	}
	for _, env := range raw.Environments {
		if v, ok := env[name]; ok {
			out = append(out, v)
		}
	}
	return out
}

// tagSafe says whether s can be an image tag as it is.
func tagSafe(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTagByte(s[i]) {
			return false
		}
	}
	return true
}

func isTagByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}
