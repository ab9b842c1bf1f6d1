package build

import (
	"testing"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// testKinds are the kinds the build tests run: build, and those still in
// targets.
func testKinds() []targets.Kind {
	return append(targets.Builtin(), targets.Kind{Name: "build", Make: New})
}

// testEnv is targettest.Env knowing testKinds.
func testEnv(t *testing.T) *targets.Env {
	t.Helper()
	return targettest.Env(t, testKinds()...)
}
