// Package testharness answers, for tests that need a Docker engine,
// whether to run, skip or fail: one rule for every package's Docker tests.
package testharness
