package main

import (
	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/internal/project"
)

// dproject is the loaded project (internal/project owns it); the command
// line only says how to load it.
type dproject = project.Project

// load finds, loads, validates and resolves the task file the command
// line names.
func load(c *cli, mask *ui.Masker) (*dproject, error) {
	goals, cmdVars, err := split(c.Args)
	if err != nil {
		return nil, err
	}
	return project.Load(project.Options{
		File: c.File, Goals: goals, Vars: cmdVars, Env: c.Env,
		ListOnly: c.List || c.Graph != "",
		NoGoals:  c.Clean || c.Complete != "",
		Verbose:  c.Verbose, NoCache: c.NoCache, Force: c.Force, DryRun: c.DryRun,
		Jobs: c.Jobs, JUnit: c.JUnit,
	}, mask)
}
