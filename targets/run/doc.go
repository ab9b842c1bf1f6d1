// Package run implements run targets and the services they use: container
// specs, cache volumes, reports, the shared ServicePool and readiness.
package run
