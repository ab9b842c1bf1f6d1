package project

import (
	"cmp"
	"errors"
	"slices"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/engine/vars"
)

// joinErrors puts two lists of task file errors in one, in file order.
func joinErrors(a, b error) error {
	var ea, eb taskfile.Errors
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	case errors.As(a, &ea) && errors.As(b, &eb):
		all := append(append(taskfile.Errors{}, ea...), eb...)
		slices.SortStableFunc(all, func(x, y *taskfile.Error) int { return cmp.Or(x.Line-y.Line, x.Col-y.Col) })
		return all
	}
	return a
}

// listView is the task file as -l and --graph show it: names and deps as
// written, descriptions and the default interpolated. Nothing else is,
// so that listing reads no secret and runs no git for a value it never
// prints. A description that does not resolve is shown as written.
func listView(raw *taskfile.File, scope *vars.Scope) *taskfile.File {
	f := *raw
	f.Targets = make(map[string]*taskfile.Target, len(raw.Targets))
	for n, t := range raw.Targets {
		c := *t
		if v, err := scope.Expand(t.Desc); err == nil {
			c.Desc = v
		}
		f.Targets[n] = &c
	}
	if v, err := scope.Expand(raw.Default); err == nil {
		f.Default = v
	}
	return &f
}
