package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/run"
)

// oldSuffix marks the previous container while its replacement starts.
const oldSuffix = "-dtask-old-"

// tailLines is how much of a failed container's output is shown.
const tailLines = 20

func (a *deployAction) Run(ctx context.Context, x *engine.Exec) (engine.Outputs, error) {
	progress := x.Progress
	if progress == nil {
		progress = func(string) {}
	}
	s, err := a.spec()
	if err != nil {
		return nil, err
	}
	cli, done, err := a.engine(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	id, err := a.deployImage(ctx, cli, x.Deps, progress, x.Stdout)
	if err != nil {
		return nil, err
	}
	def := defHash(s, a.d())
	s.Labels = a.labels(id, def)
	ctr, err := a.replace(ctx, cli, s, x.Stderr, progress)
	if err != nil {
		return nil, fmt.Errorf("deploying %s to %s: %w", s.Name, a.hostName(), err)
	}
	return targets.DeployOutput{
		Container: ctr, Image: a.d().Image, ImageID: id, Def: def, Host: a.d().Host,
	}.Outputs(), nil
}

// previous is the container being replaced.
type previous struct {
	id      string
	running bool
}

// replace puts the new container in the place of the old one. The old one
// is renamed and stopped (it may hold the published ports), the new one
// started under the name and waited for; on any failure, a cancelled
// context included, the new one is removed and the old one renamed back
// and started again.
func (a *deployAction) replace(ctx context.Context, cli *docker.Client, s run.ContainerSpec, stderr io.Writer, progress func(string)) (string, error) {
	old, err := a.setAside(ctx, cli, s.Name, progress)
	if err != nil {
		return "", err
	}
	progress("starting " + s.Name + " from " + s.Image)
	id, err := a.startNew(ctx, cli, s, progress)
	if err != nil {
		rctx, cancel := targets.Detached(ctx)
		defer cancel()
		return "", a.rollback(rctx, cli, s.Name, id, old, stderr, err)
	}
	rctx, cancel := targets.Detached(ctx)
	defer cancel()
	if old.id != "" {
		progress("removing the previous " + s.Name)
		if err := a.e.RemoveContainer(rctx, cli, old.id); err != nil {
			return id, fmt.Errorf("the new container runs, but the previous one stays: %w", err)
		}
	}
	a.removeStale(rctx, cli, s.Name)
	return id, nil
}

// removeStale removes what a deploy killed mid-way left set aside: once a
// new container runs, nothing would put those back.
func (a *deployAction) removeStale(ctx context.Context, cli *docker.Client, name string) {
	f := client.Filters{}.Add("name", "^/"+regexp.QuoteMeta(name+oldSuffix))
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return
	}
	for _, c := range res.Items {
		_ = a.e.RemoveContainer(ctx, cli, c.ID)
	}
}

// setAside renames the container holding name (if any) and stops it.
func (a *deployAction) setAside(ctx context.Context, cli *docker.Client, name string, progress func(string)) (previous, error) {
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return previous{}, nil
	}
	if err != nil {
		return previous{}, fmt.Errorf("inspecting container %s: %w", name, err)
	}
	old := previous{id: res.Container.ID, running: res.Container.State != nil && res.Container.State.Running}
	if _, err := cli.ContainerRename(ctx, old.id, client.ContainerRenameOptions{NewName: oldName(name, old.id)}); err != nil {
		return previous{}, fmt.Errorf("renaming the previous %s: %w", name, err)
	}
	if old.running {
		progress("stopping the previous " + name)
		if _, err := cli.ContainerStop(ctx, old.id, client.ContainerStopOptions{Timeout: new(targets.StopGrace)}); err != nil {
			rctx, cancel := targets.Detached(ctx)
			defer cancel()
			return previous{}, errors.Join(fmt.Errorf("stopping the previous %s: %w", name, err),
				a.restore(rctx, cli, name, old))
		}
	}
	return old, nil
}

func oldName(name, id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return name + oldSuffix + id
}

// startNew creates and starts the new container and waits until it is
// ready; only then does it get its restart policy, so that a container
// that dies at once is seen dead rather than restarting.
func (a *deployAction) startNew(ctx context.Context, cli *docker.Client, s run.ContainerSpec, progress func(string)) (string, error) {
	id, err := run.CreateContainer(ctx, a.e, cli, s)
	if id != "" {
		a.e.Untrack(false, id) // a deployed container outlives the run
	}
	if err != nil {
		return id, err
	}
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return id, fmt.Errorf("starting the new container: %w", err)
	}
	if err := a.waitReady(ctx, cli, id, progress); err != nil {
		return id, err
	}
	policy := &container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	if _, err := cli.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{RestartPolicy: policy}); err != nil {
		return id, fmt.Errorf("setting the restart policy: %w", err)
	}
	return id, nil
}

// rollback removes the new container, shows its last output and puts the
// old one back. The error says what failed and whether the old one is back.
func (a *deployAction) rollback(ctx context.Context, cli *docker.Client, name, id string, old previous, stderr io.Writer, cause error) error {
	if id == "" {
		// The create may have happened without its answer reaching us.
		if res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil && res.Container.ID != old.id {
			id = res.Container.ID
		}
	}
	var tail string
	if id != "" {
		tail = run.ContainerTail(ctx, cli, id, tailLines)
	}
	err := cause
	if id != "" {
		err = errors.Join(err, a.e.RemoveContainer(ctx, cli, id))
	}
	if old.id != "" {
		if rerr := a.restore(ctx, cli, name, old); rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			err = fmt.Errorf("%w (the previous container was put back)", err)
		}
	}
	switch {
	case tail == "":
	case stderr != nil:
		fmt.Fprintf(stderr, "last output of the new %s:\n%s\n", name, tail)
		err = fmt.Errorf("%w; the new container's last output is shown above", err)
	default:
		err = fmt.Errorf("%w\nlast output of the new container:\n%s", err, tail)
	}
	return err
}

// restore gives the old container its name back and starts it if it ran.
func (a *deployAction) restore(ctx context.Context, cli *docker.Client, name string, old previous) error {
	if _, err := cli.ContainerRename(ctx, old.id, client.ContainerRenameOptions{NewName: name}); err != nil {
		return fmt.Errorf("putting back the previous %s (left as %s): %w", name, oldName(name, old.id), err)
	}
	if !old.running {
		return nil
	}
	if _, err := cli.ContainerStart(ctx, old.id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("starting the previous %s again: %w", name, err)
	}
	// Back means serving again, as far as the ready check can tell.
	if err := a.waitReady(ctx, cli, old.id, func(string) {}); err != nil {
		return fmt.Errorf("the previous %s was started again but is not ready: %w", name, err)
	}
	return nil
}
