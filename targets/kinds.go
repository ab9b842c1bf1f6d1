package targets

import (
	"fmt"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// constructors are, per action kind, what makes it; the one place that
// knows all kinds.
var constructors = []struct {
	kind string
	make func(e *Env, t *taskfile.Target) engine.Action
}{
	{"sh", newSh},
	{"group", newGroup},
	{"build", newBuild},
	{"run", newRun},
	{"push", newPush},
	{"deploy", newDeploy},
}

// Action makes the engine.Action for t; it is the engine's Factory.
func (e *Env) Action(t *taskfile.Target, _ *taskfile.File) (engine.Action, error) {
	kind := t.ActionKind()
	for _, c := range constructors {
		if c.kind == kind {
			return c.make(e, t), nil
		}
	}
	return nil, fmt.Errorf("%s targets are not supported yet", kind)
}
