package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/junit"
	"github.com/dtask-dev/dtask/internal/watchrun"
	targetrun "github.com/dtask-dev/dtask/targets/run"
)

// exitCoder is an error that chooses dtask's exit code.
type exitCoder interface{ ExitCode() int }

// run is dtask without the process: it parses args, runs and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	started := time.Now()
	c, code, done, err := parseArgs(args, stdout, stderr)
	if done {
		return code
	}
	if c != nil {
		c.started = started
	}
	// One masker for the whole process, so that the last line, printed
	// after the run, hides the secrets the run knew.
	mask := &ui.Masker{}
	if err == nil {
		err = dispatch(ctx, c, stdout, stderr, mask)
	}
	return report(err, stderr, mask)
}

// report prints err plainly, masked and with control characters escaped,
// and maps it to an exit code.
func report(err error, stderr io.Writer, mask *ui.Masker) int {
	if err == nil {
		return 0
	}
	var ec exitCoder
	code := 1
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	var failed *engine.FailedError
	var file taskfile.Errors
	switch {
	case errors.As(err, &failed): // failures are already shown per target
	case errors.As(err, &file): // file:line:col lines, as compilers print them
		fmt.Fprintln(stderr, ui.EscapeText(mask.Mask(err.Error())))
	default:
		fmt.Fprintln(stderr, ui.EscapeText(mask.Mask("dtask: "+err.Error())))
	}
	return code
}

func dispatch(ctx context.Context, c *cli, stdout, stderr io.Writer, mask *ui.Masker) error {
	if done, err := fileless(c, stdout, stderr); done {
		return err
	}
	if c.Explain != "" {
		c.DryRun = true
	}
	p, err := load(c, mask)
	if err != nil {
		return err
	}
	if c.Explain != "" && len(p.CmdGoals) == 0 {
		p.CmdGoals = []string{c.Explain}
	}
	switch {
	case c.List:
		return listTargets(p, stdout)
	case c.Graph != "":
		return printGraph(p, c.Graph, stdout)
	case c.Clean:
		return clean(ctx, p, stdout)
	case c.Cache != "":
		return cacheCommand(ctx, c, p, stdout)
	}
	goals, err := p.Goals()
	if err != nil {
		return err
	}
	if c.Watch {
		return watchGoals(ctx, c, p, goals, stdout, stderr)
	}
	return runGoals(ctx, c, p, goals, stdout)
}

// fileless answers the operations that need no task file.
func fileless(c *cli, stdout, stderr io.Writer) (bool, error) {
	switch {
	case c.Version:
		fmt.Fprintf(stdout, "dtask %s\n", version())
	case c.CITemplate != "":
		return true, printCITemplate(c, stdout, stderr)
	case c.Completion != "":
		return true, printCompletion(c.Completion, stdout)
	case c.Schema:
		return true, printSchema(stdout)
	case c.DocsCLI:
		return true, printCLIDocs(stdout)
	case c.Init:
		return true, initTaskfile(c, stdout)
	case c.Complete != "":
		complete(c, stdout) // best effort: a broken task file completes nothing
	default:
		return false, nil
	}
	return true, nil
}

// runGoals runs the goals once with the chosen display.
func runGoals(ctx context.Context, c *cli, p *dproject, goals []string, stdout io.Writer) error {
	// Before anything runs: a report that cannot be written is found
	// now, not after the run whose report it was.
	if c.JUnit != "" {
		if err := junit.Check(c.JUnit); err != nil {
			return &usageError{msg: fmt.Sprintf("--junit %s: %v", c.JUnit, err)}
		}
	}
	mode := ui.Pick(ui.Mode(c.Output), stdout, os.Getenv, p.IsCI)
	disp := ui.Record(ui.New(mode, stdout, p.Mask, c.Verbose), p.Mask, junit.Tail)
	defer disp.Close()
	r, err := p.Runner(disp, nil)
	if err != nil {
		return err
	}
	defer p.Cleanup()
	// One pool for the run: a service listed by several targets starts
	// once and keeps its state from one to the next, as in watch mode.
	pool := targetrun.NewServicePool(p.Env)
	r.Shared = pool
	defer closeServices(p, pool, disp)
	tier, err := useTeamCache(ctx, c, p, r, disp)
	if err != nil {
		return err
	}
	collectStartup() // see gc.go
	start := time.Now()
	results, err := r.Run(ctx, goals)
	p.FinishSaves(ctx)
	finishTeamCache(tier, disp)
	elapsed := time.Since(start)
	annotateCases(mode, disp, results, p.StateDir())
	disp.Summary(results, elapsed)
	if c.Explain != "" {
		explain(ctx, c.Explain, results, r.Store, tier, stdout)
	}
	return withJUnit(c, p, disp, results, start, elapsed, worst(results, err, p.Env.EngineError))
}

// closeServices removes the run's services, saying so if that fails.
func closeServices(p *dproject, pool *targetrun.ServicePool, disp ui.Display) {
	if err := p.CloseServices(pool); err != nil {
		disp.Message("dtask: removing services: " + err.Error()) // masked
	}
}

// worst picks the error that decides the exit code: an unreachable engine
// (3), also one that went away in the middle of a target, outranks a
// failed target (1).
func worst(results []*engine.Result, err error, engineError func(error) error) error {
	for _, r := range results {
		var ec exitCoder
		if e := engineError(r.Err); e != nil && errors.As(e, &ec) && ec.ExitCode() == 3 {
			return e
		}
	}
	return err
}

// watchGoals runs a watch session (dtask -w) of the goals.
func watchGoals(ctx context.Context, c *cli, p *dproject, goals []string, stdout, stderr io.Writer) error {
	return watchrun.Run(ctx, &watchrun.Config{
		Interval: c.Interval, Output: c.Output, Verbose: c.Verbose, Clear: c.Clear, Started: c.started,
		Load: func(mask *ui.Masker) (*dproject, error) { return load(c, mask) },
	}, p, goals, stdout, stderr)
}
