// Package kinds is the registry of the kinds of target: the one place
// that knows them all, each implemented in its own package.
package kinds

import (
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/build"
	"github.com/dtask-dev/dtask/targets/push"
)

// All lists every kind of target dtask runs.
func All() []targets.Kind {
	return append(targets.Builtin(),
		targets.Kind{Name: "build", Make: build.New},
		targets.Kind{Name: "push", Make: push.New},
	)
}
