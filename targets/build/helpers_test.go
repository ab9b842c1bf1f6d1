package build

import (
	"testing"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/run"
	"github.com/dtask-dev/dtask/targets/shell"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// testKinds are the kinds the build tests run: build, and the run and sh
// targets that use its images.
func testKinds() []targets.Kind {
	return []targets.Kind{
		{Name: "build", Make: New},
		{Name: "run", Make: run.New},
		{Name: "sh", Make: shell.New},
		{Name: "group", Make: shell.NewGroup},
	}
}

// testEnv is targettest.Env knowing testKinds.
func testEnv(t *testing.T) *targets.Env {
	t.Helper()
	return targettest.Env(t, testKinds()...)
}
