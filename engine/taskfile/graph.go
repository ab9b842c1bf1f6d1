package taskfile

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// TargetNames returns the names of all targets, sorted.
func (f *File) TargetNames() []string {
	return slices.Sorted(maps.Keys(f.Targets))
}

// Closure returns goals and all their transitive deps in an order where every
// target comes after its deps. The order is the same every run: goals in the
// order given, each target's deps in the order written.
func (f *File) Closure(goals []string) ([]string, error) {
	var out []string
	// Sized for the whole file: growing a map of ten thousand targets
	// step by step costs more than the walk.
	state := make(map[string]int8, len(f.Targets)) // 0 unseen, 1 on the path, 2 done
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			i := indexOf(path, name)
			return &Error{Msg: "dependency cycle: " + strings.Join(append(path[i:len(path):len(path)], name), " -> ")}
		case 2:
			return nil
		}
		t := f.Targets[name]
		if t == nil {
			return &Error{Msg: fmt.Sprintf("unknown target %q%s", name, didYouMean(name, f.TargetNames()))}
		}
		state[name] = 1
		path = append(path, name)
		for _, d := range t.Deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[name] = 2
		out = append(out, name)
		return nil
	}
	var errs Errors
	for _, g := range goals {
		if f.Targets[g] == nil {
			errs = append(errs, &Error{Msg: fmt.Sprintf("unknown target %q%s", g, didYouMean(g, f.TargetNames()))})
			continue
		}
		if err := visit(g); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// cycles finds the dependency cycles among known targets, each rotated to
// start at its smallest name and listed once, so the text is stable.
// Each cycle ends where it began: [a b a].
func cycles(f *File) [][]string {
	state := map[string]int{}
	var path []string
	seen := map[string]bool{}
	var out [][]string
	var visit func(string)
	visit = func(name string) {
		state[name] = 1
		path = append(path, name)
		for _, d := range f.Targets[name].Deps {
			if f.Targets[d] == nil {
				continue
			}
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				if len(out) > maxErrors {
					continue // no more would be shown; each costs a copy of the path
				}
				cyc := rotate(path[indexOf(path, d):])
				if key := strings.Join(cyc, "\x00"); !seen[key] {
					seen[key] = true
					out = append(out, cyc)
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = 2
	}
	for _, n := range f.TargetNames() {
		if state[n] == 0 {
			visit(n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Join(out[i], " ") < strings.Join(out[j], " ") })
	return out
}

// rotate turns [b c a] into [a b c a].
func rotate(loop []string) []string {
	m := 0
	for i, n := range loop {
		if n < loop[m] {
			m = i
		}
	}
	out := append(append([]string{}, loop[m:]...), loop[:m]...)
	return append(out, out[0])
}
