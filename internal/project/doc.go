// Package project owns a loaded project: the options that load it, the
// resolved task file and variables, the state folders, and the engine
// runner of a run. cmd/dtask parses flags into Options, wires a display
// and renders; everything a run knows about the project is asked here.
package project
