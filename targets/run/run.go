package run

import (
	"context"
	"fmt"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// runAction runs a command in a container, with the target's services up.
type runAction struct {
	e   *targets.Env
	t   *taskfile.Target
	dir string
}

func New(e *targets.Env, t *taskfile.Target) engine.Action {
	return &runAction{e: e, t: t, dir: e.File.TargetDir(t)}
}

func (a *runAction) Kind() string { return "run" }

// ReceivesEnv says the container gets [env] and the target's env.
func (a *runAction) ReceivesEnv() bool { return true }

// spec is the target's container; hostPaths are its bind-mounted host paths.
func (a *runAction) spec() (s ContainerSpec, hostPaths []string, err error) {
	r := a.t.Run
	binds, hostPaths, err := ResolveVolumes(a.dir, r.Volumes)
	if err != nil {
		return s, nil, err
	}
	return ContainerSpec{
		Name:       ctrName(a.e, a.t.Name),
		Image:      r.Image,
		Cmd:        r.Cmd,
		Entrypoint: r.Entrypoint,
		Env:        MergeEnv(a.e.File.Env, a.t.Env, r.Env),
		Workdir:    r.Workdir,
		User:       r.User,
		Binds:      binds,
		Ports:      r.Ports,
		Labels:     a.e.RunLabels(a.t.Name),
	}, hostPaths, nil
}

func (a *runAction) Plan(ctx context.Context, p *engine.Plan) error {
	s, _, err := a.spec()
	if err != nil {
		return err
	}
	p.Def("run", a.t.Run)
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return err
	}
	if err := targets.PlanImage(ctx, p, cli, "run", s.Image); err != nil {
		return err
	}
	if err := PlanServices(ctx, a.e, p, a.t.Services); err != nil {
		return err
	}
	// The host paths it and its services mount (a schema an init loads).
	return p.HashSources()
}

// PlanServices adds each service's definition and image to the key; what
// the services mount is among the target's sources (engine/sources).
func PlanServices(ctx context.Context, e *targets.Env, p *engine.Plan, names []string) error {
	if len(names) == 0 {
		return nil
	}
	cli, err := e.Docker(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		svc := e.File.Services[name]
		if svc == nil {
			return fmt.Errorf("unknown service %q", name)
		}
		p.Def("service."+name, svc)
		if svc.Build == "" {
			if err := targets.PlanImage(ctx, p, cli, "service."+name, svc.Image); err != nil {
				return err
			}
			continue
		}
		p.Image("service."+name, builtServicePlanID(svc, p.Deps))
	}
	return nil
}

// Check: a run leaves nothing behind to check; a matching key is enough.
func (a *runAction) Check(ctx context.Context, rec *engine.Record) (bool, string, error) {
	return true, "", nil
}

// Prepare starts the target's services while its deps run (engine.Preparer).
func (a *runAction) Prepare(ctx context.Context, x *engine.Exec) {
	PrestartServices(ctx, a.e, a.t, x)
}

func (a *runAction) Run(ctx context.Context, x *engine.Exec) (engine.Outputs, error) {
	s, _, err := a.spec()
	if err != nil {
		return nil, err
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := targets.EnsureImage(ctx, cli, s.Image, targets.RecordedImageID(s.Image, x.Deps), x.Progress); err != nil {
		return nil, err
	}
	var carry map[string]string
	if s.Mounts, carry, err = cacheMounts(ctx, a.e, cli, s.Image, a.t.Run.Caches); err != nil {
		return nil, err
	}
	if len(a.t.Services) > 0 {
		pool, release := ServicesFor(ctx, a.e, a.t, x)
		defer release()
		if s.Network, err = UseServices(ctx, a.e, pool, a.t, x); err != nil {
			return nil, err
		}
	}
	out := engine.Outputs{}
	if len(a.t.Run.Reports) > 0 {
		s.AfterExit = func(ctx context.Context, cli *docker.Client, id string) {
			out = copyReports(ctx, a.e, cli, id, a.t.Run.Reports, x.Stderr)
		}
	}
	if x.Progress != nil {
		x.Progress("running " + s.Image)
	}
	code, err := runContainer(ctx, a.e, cli, s, x.Stdout, x.Stderr)
	if err != nil {
		return nil, err
	}
	exportVolumes(a.e, cli, s.Image, carry)
	if code != 0 {
		// The reports of a failed run still say which cases failed.
		return out, fmt.Errorf("container exited with code %d", code)
	}
	return out, nil
}
