// Package watchrun is a watch session (dtask -w): the goals run, then run
// again after every change to a source of theirs, with the services they
// share kept up between runs.
package watchrun
