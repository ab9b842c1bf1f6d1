package engine

import (
	"context"
	"io"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Action is one kind of target (sh, build, run, push, deploy, group). The
// engine knows nothing else about what a target does.
type Action interface {
	// Kind names the action: "sh", "build", ...
	Kind() string
	// Plan adds to p everything the action's result depends on: its
	// definition, the files it reads and the images it consumes. It runs
	// after the target's deps have finished, so it sees their outputs.
	Plan(ctx context.Context, p *Plan) error
	// Check reports whether what a recorded success produced still exists
	// (an image in the engine, a running container). why says what is missing.
	Check(ctx context.Context, rec *Record) (ok bool, why string, err error)
	// Run does the work. Outputs it returns are kept in the success record
	// (an image ID, say) and handed to Check on later runs.
	Run(ctx context.Context, x *Exec) (Outputs, error)
}

// Preparer is implemented by actions that can get something slow ready
// (their services' containers) while their deps still run. The runner
// calls Prepare when a dep of the target starts running because its
// inputs changed, which changes the target's key too, so that the target
// will almost surely run; it may yet not (a dep fails). Prepare must
// return at once, and leave nothing the run's end does not remove. x has
// the target and the shared services; its output goes nowhere.
type Preparer interface {
	Prepare(ctx context.Context, x *Exec)
}

// EnvReceiver is implemented by actions whose processes get [env] and the
// target's env (sh, run, deploy): only their keys include it, so that an
// [env] change does not rebuild images or re-push.
type EnvReceiver interface{ ReceivesEnv() bool }

// Outputs are facts about what a target produced, kept in its record.
type Outputs map[string]string

// Exec is what an action gets to run with.
type Exec struct {
	Target *taskfile.Target
	Dir    string   // working folder (the task file's folder, or the target's dir)
	Env    []string // KEY=value for host commands: process env + [env] + target env
	Stdout io.Writer
	Stderr io.Writer
	// Progress reports a one-line status (a build step, "waiting for db").
	Progress func(msg string)
	// Deps gives the recorded outputs of the target's deps by name.
	Deps map[string]Outputs
	// Verbose asks for more detail.
	Verbose bool
	// Services keeps containers shared across runs (watch mode); nil in a
	// plain run.
	Shared any
}

// Factory makes the Action for a target.
type Factory func(t *taskfile.Target, f *taskfile.File) (Action, error)
