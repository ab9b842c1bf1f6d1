package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// runObjects lists the containers and networks one run created and has not
// removed yet. Its maps are made on the first create, so that a run that
// never touched Docker needs no engine to clean up.
type runObjects struct {
	mu         sync.Mutex
	containers map[string]bool
	networks   map[string]bool
}

func (e *Env) objects() *runObjects {
	o := &e.objs
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.containers == nil {
		o.containers, o.networks = map[string]bool{}, map[string]bool{}
	}
	return o
}

// usedDocker says whether the run created anything in the engine.
func (e *Env) usedDocker() bool {
	e.objs.mu.Lock()
	defer e.objs.mu.Unlock()
	return e.objs.containers != nil
}

// Track lists a container (or, with network, a network) the run created,
// for Cleanup to remove.
func (e *Env) Track(network bool, id string) {
	o := e.objects()
	o.mu.Lock()
	defer o.mu.Unlock()
	if network {
		o.networks[id] = true
	} else {
		o.containers[id] = true
	}
}

// Untrack takes back what Track listed: it is gone, or it outlives the run.
func (e *Env) Untrack(network bool, id string) {
	o := e.objects()
	o.mu.Lock()
	defer o.mu.Unlock()
	if network {
		delete(o.networks, id)
	} else {
		delete(o.containers, id)
	}
}

// RunLabels returns the labels for a container or network that must not
// outlive this run: Cleanup removes it at exit and, if the run is killed,
// RemoveLeftovers removes it on the next run.
func (e *Env) RunLabels(target string) map[string]string {
	l := e.Labels(target)
	l[docker.LabelOwner] = selfOwner().String()
	return l
}

// RemoveLeftovers removes the containers and networks of this project that
// a run killed with SIGKILL left behind. Objects of a run that is still
// alive (a concurrent dtask on the same project), or whose liveness this
// machine cannot check (created from another host), are left alone.
func (e *Env) RemoveLeftovers(ctx context.Context) error {
	_, err := e.Sweep(ctx)
	return err
}

// Swept counts what RemoveLeftovers removed.
type Swept struct{ Containers, Networks int }

// Sweep is RemoveLeftovers, saying how much it removed (dtask --clean).
func (e *Env) Sweep(ctx context.Context) (Swept, error) {
	var n Swept
	cli, err := e.Connect(ctx)
	if err != nil {
		return n, err
	}
	f := client.Filters{}.Add("label",
		docker.LabelTool+"=dtask", docker.LabelProject+"="+e.Project, docker.LabelOwner)
	dead := e.leftover
	var errs []error
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return n, fmt.Errorf("listing leftover containers: %w", err)
	}
	for _, c := range cl.Items {
		if dead(c.Labels) {
			err := e.RemoveContainer(ctx, cli, c.ID)
			errs = append(errs, err)
			n.Containers += count(err)
		}
	}
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return n, errors.Join(append(errs, fmt.Errorf("listing leftover networks: %w", err))...)
	}
	for _, nw := range nl.Items {
		if dead(nw.Labels) {
			err := e.RemoveNetwork(ctx, cli, nw.ID)
			errs = append(errs, err)
			n.Networks += count(err)
		}
	}
	return n, errors.Join(errs...)
}

// leftover says whether an object with labels was left by another run of
// this project whose dtask is dead (killed with SIGKILL).
func (e *Env) leftover(labels map[string]string) bool {
	if labels[docker.LabelRun] == e.RunID || labels[docker.LabelTool] != "dtask" {
		return false
	}
	o, ok := parseOwner(labels[docker.LabelOwner])
	if !ok {
		return false
	}
	alive, known := o.alive()
	return known && !alive
}

func count(err error) int {
	if err != nil {
		return 0
	}
	return 1
}

// RemoveContainer kills and removes a container with its anonymous
// volumes; one already gone is not an error.
func (e *Env) RemoveContainer(ctx context.Context, cli *docker.Client, id string) error {
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return fmt.Errorf("removing container %.12s: %w", id, err)
	}
	e.Untrack(false, id)
	return nil
}

// RemoveNetwork removes network id and untracks it; one already gone is
// not an error.
func (e *Env) RemoveNetwork(ctx context.Context, cli *docker.Client, id string) error {
	var err error
	// A container being removed may still hold an endpoint for a moment.
	for range 10 {
		if _, err = cli.NetworkRemove(ctx, id, client.NetworkRemoveOptions{}); err == nil || cerrdefs.IsNotFound(err) {
			e.Untrack(true, id)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("removing network %.12s: %w", id, err)
}

func isRemovalInProgress(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}
