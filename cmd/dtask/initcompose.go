package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/internal/compose"
)

// composeFiles are the names docker compose looks for, in its order.
func composeFiles() []string {
	return []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}
}

// composeFile is the compose file --init found, or "".
func composeFile(exists func(string) bool) string {
	for _, name := range composeFiles() {
		if exists(name) {
			return name
		}
	}
	return ""
}

// composeServices names the file's services, sorted; nil when it does not
// read (the starter file still names it, and dtask -n then says why).
func composeServices(dir, name string) []string {
	svcs, err := compose.Services(dir, []string{name})
	if err != nil {
		return nil
	}
	var names []string
	for n := range svcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// composeSection reads the compose file as it is, rather than asking for
// its services to be written out again as [services.NAME].
func composeSection(dir, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n# %s found: its services are listed by name in a target's services = [...];\n", name)
	b.WriteString("# they start on a private network, reachable by name, are waited for (their\n")
	b.WriteString("# healthcheck) and removed afterwards. See docs/compose.md.\n")
	fmt.Fprintf(&b, "compose = %q\n", name)
	return b.String()
}

// composeTestHint is a commented target that runs tests against the
// compose file's services.
func composeTestHint(dir, name string, dockerfile bool) string {
	quoted := []string{`"db"`}
	if names := composeServices(dir, name); len(names) > 0 {
		quoted = quoted[:0]
		for _, n := range names {
			quoted = append(quoted, fmt.Sprintf("%q", n))
		}
	}
	image := `"${IMAGE}"`
	deps := `# deps     = ["image"]` + "\n"
	if !dockerfile {
		image, deps = `"IMAGE-WITH-TESTS"`, ""
	}
	return fmt.Sprintf(`# Tests against the services of %s, for example:
#
# [targets.test]
%s# services = [%s]
# run      = { image = %s, cmd = ["./run-tests"] }
`, name, deps, strings.Join(quoted, ", "), image)
}
