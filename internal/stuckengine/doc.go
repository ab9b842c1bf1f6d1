// Package stuckengine is a Docker engine on a unix socket that stops
// answering at a chosen request: it answers what a run target asks up to
// there, then holds the request unanswered (a wedged engine) or drops its
// connection (an engine that dies). The CLI's tests and
// scripts/bench/interrupt use it to see what dtask does then.
package stuckengine
