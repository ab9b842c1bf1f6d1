package main

import (
	"runtime/debug"
	"strings"
)

// version is the module version and the commit dtask was built from, as
// the Go toolchain recorded them: "v1.2.0", or "(devel) commit 0123abcd…
// (modified)" for a build from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	parts := []string{bi.Main.Version}
	if bi.Main.Version == "" {
		parts[0] = "(devel)"
	}
	if rev != "" {
		parts = append(parts, "commit "+rev)
		if when != "" {
			parts = append(parts, "of "+when)
		}
		if modified {
			parts = append(parts, "(modified)")
		}
	} else if bi.Main.Version == "(devel)" || bi.Main.Version == "" {
		parts = append(parts, "(commit unknown: built with -buildvcs=false)")
	}
	return strings.Join(parts, " ")
}
