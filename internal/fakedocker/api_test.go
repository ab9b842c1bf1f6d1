package fakedocker

import "github.com/dtask-dev/dtask/targets/docker"

// The fake must keep up with every call dtask makes.
var _ docker.API = (*Engine)(nil)
