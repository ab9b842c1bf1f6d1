package cache

import (
	"fmt"
	"strings"
)

// Diff explains why cur differs from old in words a user reads: which
// source changed, which definition key, which dep re-ran. Lines with the
// same label and value give no reason; an empty old gives "no previous run".
func Diff(old, cur []Line) []string {
	if len(old) == 0 {
		return []string{"no previous run"}
	}
	return diffLines(old, cur)
}

func diffLines(old, cur []Line) []string {
	before := make(map[string]string, len(old))
	for _, l := range old {
		before[l.Label] = compactValue(l.Value)
	}
	var why []string
	seen := make(map[string]bool, len(cur))
	for _, l := range cur {
		seen[l.Label] = true
		v, ok := before[l.Label]
		switch {
		case !ok:
			why = append(why, reason(l.Label, "added"))
		case v != compactValue(l.Value):
			why = append(why, reason(l.Label, changedHow(l)))
		}
	}
	for _, l := range old {
		if !seen[l.Label] {
			seen[l.Label] = true
			why = append(why, reason(l.Label, "removed"))
		}
	}
	return joinDefs(why)
}

// joinDefs folds every "definition changed: X" reason into one, so that a
// dry run reads "definition changed: build.args, build.tags added".
func joinDefs(why []string) []string {
	const prefix = "definition changed: "
	var out, defs []string
	at := -1
	for _, w := range why {
		if d, ok := strings.CutPrefix(w, prefix); ok {
			if at < 0 {
				at = len(out)
				out = append(out, "")
			}
			defs = append(defs, d)
			continue
		}
		out = append(out, w)
	}
	if at >= 0 {
		out[at] = prefix + strings.Join(defs, ", ")
	}
	return out
}

// changedHow words how line l changed: an image the engine and the image
// cache lack now (the run will pull it) is "missing", not "changed", for
// a user who changed nothing.
func changedHow(l Line) string {
	if strings.HasPrefix(l.Label, "image.") && strings.HasPrefix(l.Value, "missing") {
		return "missing (the run pulls it)"
	}
	return "changed"
}

// reason words one changed line; how is "added", "changed" or "removed".
func reason(label, how string) string {
	name, rest, spaced := strings.Cut(label, " ")
	if spaced {
		switch name {
		case "src":
			return rest + " " + how
		case "dep":
			if how == "changed" {
				return "dep " + rest + " re-ran"
			}
			return "dep " + rest + " " + how
		case "secret":
			return "secret " + rest + " " + how
		}
	}
	name, rest, dotted := strings.Cut(label, ".")
	if dotted {
		switch name {
		case "def":
			if how == "changed" {
				return "definition changed: " + rest
			}
			return fmt.Sprintf("definition changed: %s %s", rest, how)
		case "env", "var", "image":
			return fmt.Sprintf("%s %s %s", name, rest, how)
		}
	}
	switch label {
	case "version":
		return "dtask cache format changed"
	case "kind":
		return "action " + how
	}
	return label + " " + how
}
