// Package compose reads the services of compose files into dtask's service model.
package compose
