// Package taskfile finds, decodes, validates and interpolates dtask task files (Taskfile.toml / dtask.toml).
package taskfile
