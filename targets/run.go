package targets

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// runAction runs a command in a container, with the target's services up.
type runAction struct {
	e   *Env
	t   *taskfile.Target
	dir string
}

func newRun(e *Env, t *taskfile.Target) engine.Action {
	return &runAction{e: e, t: t, dir: runTargetDir(e.File.Dir, t.Dir)}
}

// runTargetDir is the folder a target's relative paths are relative to.
func runTargetDir(fileDir, dir string) string {
	if dir == "" {
		return fileDir
	}
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(fileDir, dir)
}

func (a *runAction) Kind() string { return "run" }

// ReceivesEnv says the container gets [env] and the target's env.
func (a *runAction) ReceivesEnv() bool { return true }

// spec is the target's container; hostPaths are its bind-mounted host paths.
func (a *runAction) spec() (s ctrSpec, hostPaths []string, err error) {
	r := a.t.Run
	binds, hostPaths, err := resolveVolumes(a.dir, r.Volumes)
	if err != nil {
		return s, nil, err
	}
	return ctrSpec{
		Name:       a.e.ctrName(a.t.Name),
		Image:      r.Image,
		Cmd:        r.Cmd,
		Entrypoint: r.Entrypoint,
		Env:        mergeEnv(a.e.File.Env, a.t.Env, r.Env),
		Workdir:    r.Workdir,
		User:       r.User,
		Binds:      binds,
		Ports:      r.Ports,
		Labels:     a.e.RunLabels(a.t.Name),
	}, hostPaths, nil
}

func (a *runAction) Plan(ctx context.Context, p *engine.Plan) error {
	s, hostPaths, err := a.spec()
	if err != nil {
		return err
	}
	p.Def("run", a.t.Run)
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return err
	}
	id, err := planImageID(ctx, cli, s.Image, p.Deps)
	if err != nil {
		return err
	}
	p.Image("run", id)
	for _, name := range a.t.Services {
		svc := a.e.File.Services[name]
		if svc == nil {
			return fmt.Errorf("unknown service %q", name)
		}
		p.Def("service."+name, svc)
		id, err := a.e.serviceImagePlanID(ctx, cli, svc, p.Deps)
		if err != nil {
			return err
		}
		p.Image("service."+name, id)
		// What a service mounts (a schema its init loads) is an input too.
		_, svcPaths, err := resolveVolumes(a.e.File.Dir, svc.Volumes)
		if err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		hostPaths = append(hostPaths, svcPaths...)
	}
	for _, h := range hostPaths {
		if err := planHostPath(p, h); err != nil {
			return err
		}
	}
	return nil
}

// Check: a run leaves nothing behind to check; a matching key is enough.
func (a *runAction) Check(ctx context.Context, rec *engine.Record) (bool, string, error) {
	return true, "", nil
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
	if _, err := ensureImage(ctx, cli, s.Image, recordedImageID(s.Image, x.Deps), x.Progress); err != nil {
		return nil, err
	}
	if len(a.t.Services) > 0 {
		pool, shared := x.Shared.(*ServicePool)
		if !shared || pool == nil || pool.e != a.e {
			pool = NewServicePool(a.e)
			defer func() {
				cctx, cancel := a.e.cleanupContext(ctx)
				defer cancel()
				_ = pool.Close(cctx)
			}()
		}
		net, err := pool.Up(ctx, a.t.Services, x.Deps, x.Progress)
		if err != nil {
			return nil, err
		}
		s.Network = net
	}
	if x.Progress != nil {
		x.Progress("running " + s.Image)
	}
	code, err := a.e.runContainer(ctx, cli, s, x.Stdout, x.Stderr)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("container exited with code %d", code)
	}
	return engine.Outputs{}, nil
}
