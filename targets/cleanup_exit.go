package targets

import (
	"context"
	"errors"
	"maps"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// Cleanup removes every container and network this run created that is
// still there. It is called on exit, also after Ctrl-C, with a fresh context.
// When the run swept leftovers at its start, it sweeps them again: a
// network create in flight when an earlier run was killed can reach the
// engine after that first sweep. Both come from one listing of the
// project's objects, since this runs on the way out of every run.
func (e *Env) Cleanup(ctx context.Context) error {
	e.groups.close()
	swept := e.sweptOnce.Load()
	if !e.usedDocker() && !swept {
		return nil
	}
	ctx, cancel := e.CleanupContext(ctx)
	defer cancel()
	cli, err := e.Docker(ctx)
	if err != nil {
		return err
	}
	mine, theirs := e.exitObjects(ctx, cli, swept)
	var errs []error
	for id := range mine.containers {
		errs = append(errs, e.RemoveContainer(ctx, cli, id))
	}
	for id := range theirs.containers {
		_ = e.RemoveContainer(ctx, cli, id)
	}
	for id := range mine.networks {
		errs = append(errs, e.RemoveNetwork(ctx, cli, id))
	}
	for id := range theirs.networks {
		_ = e.RemoveNetwork(ctx, cli, id)
	}
	return errors.Join(errs...)
}

// idSets are containers and networks by ID.
type idSets struct{ containers, networks map[string]bool }

// exitObjects lists what Cleanup removes: mine, what this run created
// (tracked, or found by its labels: a create whose response was lost is
// not tracked); theirs, with sweep, the leftovers of dead runs.
func (e *Env) exitObjects(ctx context.Context, cli *docker.Client, sweep bool) (mine, theirs idSets) {
	o := e.objects()
	o.mu.Lock()
	mine = idSets{maps.Clone(o.containers), maps.Clone(o.networks)}
	o.mu.Unlock()
	theirs = idSets{map[string]bool{}, map[string]bool{}}
	f := client.Filters{}.Add("label", docker.LabelProject+"="+e.Project, docker.LabelOwner)
	pick := func(id string, labels map[string]string, set func(idSets) map[string]bool) {
		switch {
		case labels[docker.LabelRun] == e.RunID:
			set(mine)[id] = true
		case sweep && e.leftover(labels):
			set(theirs)[id] = true
		}
	}
	if cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range cl.Items {
			pick(c.ID, c.Labels, func(s idSets) map[string]bool { return s.containers })
		}
	}
	if nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f}); err == nil {
		for _, n := range nl.Items {
			pick(n.ID, n.Labels, func(s idSets) map[string]bool { return s.networks })
		}
	}
	return mine, theirs
}
