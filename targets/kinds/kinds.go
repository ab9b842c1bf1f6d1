// Package kinds is the registry of the kinds of target: the one place
// that knows them all, each implemented in its own package.
package kinds

import (
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/build"
	"github.com/dtask-dev/dtask/targets/deploy"
	"github.com/dtask-dev/dtask/targets/push"
	"github.com/dtask-dev/dtask/targets/run"
	"github.com/dtask-dev/dtask/targets/shell"
)

// All lists every kind of target dtask runs.
func All() []targets.Kind {
	return []targets.Kind{
		{Name: "sh", Make: shell.New},
		{Name: "group", Make: shell.NewGroup},
		{Name: "build", Make: build.New},
		{Name: "run", Make: run.New},
		{Name: "push", Make: push.New},
		{Name: "deploy", Make: deploy.New},
	}
}
