// Package engine schedules a task file's targets as a DAG, decides from
// content-hash keys which of them must run, and records their successes.
package engine
