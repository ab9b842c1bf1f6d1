// Package shell implements sh targets (host commands, each in its own
// process group, killed with dtask) and group targets.
package shell
