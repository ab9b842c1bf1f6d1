package targets

import (
	"fmt"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Kind is one kind of target: its name in the task file and what makes
// its action. The action packages (targets/shell, build, run, push,
// deploy) each provide theirs; targets/kinds lists them all.
type Kind struct {
	Name string
	Make func(e *Env, t *taskfile.Target) engine.Action
}

// Action makes the engine.Action for t from the kinds of e.Kinds; it is
// the engine's Factory.
func (e *Env) Action(t *taskfile.Target, _ *taskfile.File) (engine.Action, error) {
	kind := t.ActionKind()
	for _, k := range e.Kinds {
		if k.Name == kind {
			return k.Make(e, t), nil
		}
	}
	return nil, fmt.Errorf("%s targets are not supported yet", kind)
}
