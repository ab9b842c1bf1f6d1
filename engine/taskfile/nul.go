package taskfile

import (
	"maps"
	"slices"
	"strings"
)

// CheckNUL reports host commands and environment values of a resolved
// file that hold a NUL character (written as \u0000 or brought in by a
// variable): no process can be given one, and exec's "invalid argument"
// would not say which key is at fault.
func CheckNUL(f *File) error {
	// The scan in key order, which names the keys at fault, costs a sort
	// per map: ten thousand targets pay it only when there is a fault.
	if !hasNUL(f) {
		return nil
	}
	c := &collector{file: f.name, pos: f.pos}
	if c.file == "" && f.Path != "" {
		c.file = displayPath(f.Path)
	}
	nulEnv(c, []string{"env"}, f.Env)
	for _, name := range f.TargetNames() {
		t := f.Targets[name]
		at := []string{"targets", name}
		for i, cmd := range t.Sh {
			if strings.ContainsRune(cmd, 0) {
				key := append(at[:2:2], "sh")
				c.add(append([]string{indexKey(key, i)}, ancestors(key)...),
					"target %q: sh command %d holds a NUL character (\\u0000), which no shell can be given", name, i+1)
			}
		}
		nulEnv(c, append(at, "env"), t.Env)
	}
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

func nulEnv(c *collector, at []string, env map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if strings.ContainsRune(env[k], 0) || strings.ContainsRune(k, 0) {
			c.addAt(append(at[:len(at):len(at)], k), "%s.%s holds a NUL character (\\u0000), which no process can be given", keyString(at), k)
		}
	}
}

// hasNUL says whether CheckNUL would find anything.
func hasNUL(f *File) bool {
	if envHasNUL(f.Env) {
		return true
	}
	for _, t := range f.Targets {
		if envHasNUL(t.Env) || slices.ContainsFunc(t.Sh, func(cmd string) bool { return strings.ContainsRune(cmd, 0) }) {
			return true
		}
	}
	return false
}

func envHasNUL(env map[string]string) bool {
	for k, v := range env {
		if strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			return true
		}
	}
	return false
}
