// Package ui shows a dtask run: live lines at a terminal, prefixed plain lines in pipes and CI, JSON events, and the summary table.
package ui
