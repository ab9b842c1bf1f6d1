package shell

import (
	"context"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

// group is a target with no action: it is done when its deps are.
type group struct{}

// NewGroup is the action of a target without one: it only groups its deps.
func NewGroup(*targets.Env, *taskfile.Target) engine.Action { return group{} }

func (group) Kind() string                                                { return "group" }
func (group) Plan(context.Context, *engine.Plan) error                    { return nil }
func (group) Check(context.Context, *engine.Record) (bool, string, error) { return true, "", nil }
func (group) Run(context.Context, *engine.Exec) (engine.Outputs, error)   { return nil, nil }
