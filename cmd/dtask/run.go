package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// exitCoder is an error that chooses dtask's exit code.
type exitCoder interface{ ExitCode() int }

// run is dtask without the process: it parses args, runs and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done, err := parseArgs(args, stdout, stderr)
	if done {
		return code
	}
	if err == nil {
		err = dispatch(ctx, c, stdout, stderr)
	}
	return report(err, stderr)
}

// report prints err plainly and maps it to an exit code.
func report(err error, stderr io.Writer) int {
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
		fmt.Fprintln(stderr, err)
	default:
		fmt.Fprintf(stderr, "dtask: %v\n", err)
	}
	return code
}

func dispatch(ctx context.Context, c *cli, stdout, stderr io.Writer) error {
	if c.Version {
		fmt.Fprintf(stdout, "dtask %s\n", version())
		return nil
	}
	if c.CITemplate != "" {
		return printCITemplate(c, stdout, stderr)
	}
	p, err := load(c, stderr)
	if err != nil {
		return err
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
	goals, err := p.goals()
	if err != nil {
		return err
	}
	if c.Watch {
		return watchGoals(ctx, c, p, goals, stdout, stderr)
	}
	return runGoals(ctx, c, p, goals, stdout)
}

// runGoals runs the goals once with the chosen display.
func runGoals(ctx context.Context, c *cli, p *project, goals []string, stdout io.Writer) error {
	mode := ui.Pick(ui.Mode(c.Output), stdout, os.Getenv, p.isCI)
	disp := ui.Record(ui.New(mode, stdout, p.mask, c.Verbose), p.mask, junitTail)
	defer disp.Close()
	r, err := p.runner(c, disp)
	if err != nil {
		return err
	}
	defer p.cleanup()
	start := time.Now()
	results, err := r.Run(ctx, goals)
	elapsed := time.Since(start)
	disp.Summary(results, elapsed)
	return withJUnit(c, p, disp, results, start, elapsed, worst(results, err, p.env.EngineError))
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

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
