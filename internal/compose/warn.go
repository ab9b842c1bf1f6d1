package compose

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
)

// unsetVars collects, for one load, the variables compose interpolated as
// empty because they are not set. compose-go says so itself through
// logrus' global logger, as a raw `time=... level=warning` line that
// names no file; dtask turns that logging off for the load and warns
// in its own words, naming the compose file and line.
type unsetVars struct {
	names []string
	seen  map[string]bool
}

// substitute is compose's interpolation of one value, without its
// logging, noting the unset variables used without a default.
func (u *unsetVars) substitute(s string, m template.Mapping) (string, error) {
	return template.SubstituteWithOptions(s, m, template.WithoutLogging, template.WithReplacementFunction(u.replace))
}

// replace is compose's default replacement; "not applied" with a failed
// look-up is exactly when compose-go would warn (${X} or $X, no default).
func (u *unsetVars) replace(s string, m template.Mapping, cfg *template.Config) (string, error) {
	missed := ""
	track := func(name string) (string, bool) {
		v, ok := m(name)
		if !ok {
			missed = name
		}
		return v, ok
	}
	v, applied, err := template.DefaultReplacementAppliedFunc(s, track, cfg)
	if err == nil && !applied && missed != "" && !u.seen[missed] {
		if u.seen == nil {
			u.seen = map[string]bool{}
		}
		u.seen[missed] = true
		u.names = append(u.names, missed)
	}
	return v, err
}

// warnings are the messages for the unset variables, each placed where
// the first compose file that uses it without a default writes it.
func (u *unsetVars) warnings(paths, files []string) []string {
	out := make([]string, 0, len(u.names))
	for _, name := range slices.Sorted(slices.Values(u.names)) { // compose's order is a map's
		out = append(out, fmt.Sprintf("%s: variable %s is not set: an empty string is used (write ${%s:-} if that is meant)",
			usedAt(paths, files, name), name, name))
	}
	return out
}

// usedAt is file:line:col of the first plain use of ${name} or $name in
// the files, or the files' names.
func usedAt(paths, files []string, name string) string {
	re := regexp.MustCompile(`\$(\{` + regexp.QuoteMeta(name) + `\}|` + regexp.QuoteMeta(name) + `([^A-Za-z0-9_]|$))`)
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if loc := re.FindIndex(data); loc != nil {
			before := string(data[:loc[0]])
			line := strings.Count(before, "\n") + 1
			col := loc[0] - strings.LastIndexByte(before, '\n')
			return fmt.Sprintf("%s:%d:%d", files[i], line, col)
		}
	}
	return names(files)
}
