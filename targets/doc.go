// Package targets implements each kind of target (sh, build, run, push, deploy, group) as an engine.Action.
package targets
