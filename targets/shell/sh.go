package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/run"
)

// shGrace is how long a cancelled command's process group gets between
// SIGTERM and SIGKILL.
const shGrace = 5 * time.Second

// sh runs host commands with sh -c, in order, stopping at the first
// failure. Services it lists are published on loopback ports, their
// addresses given in DTASK_SERVICE_* variables.
type sh struct {
	e *targets.Env
	t *taskfile.Target
}

// New is the sh action of target t.
func New(e *targets.Env, t *taskfile.Target) engine.Action { return &sh{e: e, t: t} }

func (s *sh) Kind() string { return "sh" }

// ReceivesEnv says the commands get [env] and the target's env.
func (s *sh) ReceivesEnv() bool { return true }

func (s *sh) Plan(ctx context.Context, p *engine.Plan) error {
	p.Def("sh", []string(s.t.Sh))
	if err := run.PlanServices(ctx, s.e, p, s.t.Services); err != nil {
		return err
	}
	if len(s.t.Sources) == 0 {
		p.Always("no sources: runs every time")
		return nil
	}
	// Its sources globs and what its services mount.
	return p.HashSources()
}

func (s *sh) Check(context.Context, *engine.Record) (bool, string, error) {
	return true, "", nil
}

// Prepare starts the target's services while its deps run (engine.Preparer).
func (s *sh) Prepare(ctx context.Context, x *engine.Exec) {
	run.PrestartServices(ctx, s.e, s.t, x)
}

func (s *sh) Run(ctx context.Context, x *engine.Exec) (engine.Outputs, error) {
	// Without this, exec reports a missing folder as a missing sh.
	if fi, err := os.Stat(x.Dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("folder %s does not exist (dir = %q)", x.Dir, s.t.Dir)
	}
	if len(s.t.Services) > 0 {
		pool, release := run.ServicesFor(ctx, s.e, s.t, x)
		defer release()
		if _, err := run.UseServices(ctx, s.e, pool, s.t, x); err != nil {
			return nil, err
		}
		addrs, err := pool.Addresses(ctx, s.t.Services)
		if err != nil {
			return nil, err
		}
		x.Env = append(append([]string(nil), x.Env...), addrs...)
	}
	for _, line := range s.t.Sh {
		if err := runShell(ctx, x, line, s.e.Groups()); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// runShell runs one command in its own process group, so that cancelling
// stops everything it started, not just the shell. Whatever the command
// leaves running in its group when it ends is killed too: children die
// with their target, and with dtask (see GroupWatch).
func runShell(ctx context.Context, x *engine.Exec, line string, groups *targets.GroupWatch) error {
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir, cmd.Env = x.Dir, x.Env
	cmd.Stdout, cmd.Stderr = x.Stdout, x.Stderr
	cmd.SysProcAttr = shAttr()
	// A daemon left behind holding the pipe must not hang the target.
	cmd.WaitDelay = shGrace
	groups.Start() // before the shell: its "+" must follow at once
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting sh: %w", err)
	}
	pgid := cmd.Process.Pid
	groups.Send("+", pgid)
	defer func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		groups.Send("-", pgid)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitError(line, err)
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(shGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		return ctx.Err()
	}
}

func exitError(line string, err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("command %q exited with code %d", line, ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("command %q: %w", line, err)
	}
	return nil
}
