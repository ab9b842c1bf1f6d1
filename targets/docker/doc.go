// Package docker is dtask's side of the Docker engine API: API, the engine
// calls dtask makes (the moby client implements it); connecting to an
// engine (local, tcp://, ssh:// with a reverse tunnel back) with API
// version negotiation and the exit-3 errors of one that is unreachable or
// too old; the labels of what a run creates; and builds through BuildKit
// sessions or the classic builder, their output decoded into lines.
package docker
