package project

import (
	"path/filepath"

	"github.com/dtask-dev/dtask/engine/sources"
)

// DefinitionFiles are the task file and the compose files it names.
func (p *Project) DefinitionFiles() []string {
	files := []string{p.File.Path}
	for _, c := range p.Raw.Compose {
		if !filepath.IsAbs(c) {
			c = filepath.Join(p.File.Dir, c)
		}
		files = append(files, c)
	}
	return files
}

// WatchSources says, from the task file alone, what the goals and their
// deps read, as the sources model says: known from the task file, they are
// watched even when a dep fails before a target is planned. A target whose
// sources cannot all be worked out (a bad .dockerignore) is watched as
// far as they can; its run reports the error.
func (p *Project) WatchSources(goals []string) sources.Set {
	set, _ := sources.Closure(p.File, goals, p.StateDir())
	return set
}
