package fakedocker

import (
	"context"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ContainerInspect describes a container: its config, state and labels.
func (f *Engine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerInspect"); err != nil {
		return client.ContainerInspectResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerInspectResult{}, err
	}
	cfg, host := c.cfg, c.host
	return client.ContainerInspectResult{Container: container.InspectResponse{
		ID:     c.id,
		Name:   "/" + strings.TrimPrefix(c.name, "/"),
		Image:  f.images[normal(c.cfg.Image)],
		Config: &cfg, HostConfig: &host,
		State: &container.State{Status: c.state, Running: c.state == container.StateRunning, ExitCode: c.code},
	}}, nil
}

// ContainerList lists containers passing the label and name filters;
// without All, running ones only.
func (f *Engine) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerList"); err != nil {
		return client.ContainerListResult{}, err
	}
	var res client.ContainerListResult
	for _, c := range f.containers {
		if (o.All || c.state == container.StateRunning) && matches(o.Filters, c.cfg.Labels, c.name) {
			res.Items = append(res.Items, container.Summary{
				ID: c.id, Names: []string{"/" + strings.TrimPrefix(c.name, "/")},
				Image: c.cfg.Image, Labels: c.cfg.Labels, State: c.state,
			})
		}
	}
	return res, nil
}

// ContainerStop stops a running container as SIGKILL would (exit 137).
func (f *Engine) ContainerStop(_ context.Context, id string, _ client.ContainerStopOptions) (client.ContainerStopResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerStop"); err != nil {
		return client.ContainerStopResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerStopResult{}, err
	}
	c.exit(137)
	return client.ContainerStopResult{}, nil
}

// ContainerRemove removes a container; a running one only with Force.
func (f *Engine) ContainerRemove(_ context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerRemove"); err != nil {
		return client.ContainerRemoveResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerRemoveResult{}, err
	}
	if c.state == container.StateRunning && !o.Force {
		return client.ContainerRemoveResult{}, fmt.Errorf("%w: container %s is running: stop it or force the removal", cerrdefs.ErrConflict, id)
	}
	c.exit(137)
	delete(f.containers, c.id)
	return client.ContainerRemoveResult{}, nil
}

// ContainerRename renames a container; a name in use is a conflict.
func (f *Engine) ContainerRename(_ context.Context, id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerRename"); err != nil {
		return client.ContainerRenameResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerRenameResult{}, err
	}
	if f.byName(o.NewName) != nil {
		return client.ContainerRenameResult{}, fmt.Errorf("%w: name %q is in use", cerrdefs.ErrConflict, o.NewName)
	}
	c.name = o.NewName
	return client.ContainerRenameResult{}, nil
}

// ContainerUpdate accepts the update (the restart policy, for deploys).
func (f *Engine) ContainerUpdate(_ context.Context, id string, _ client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerUpdate"); err != nil {
		return client.ContainerUpdateResult{}, err
	}
	_, err := f.find(id)
	return client.ContainerUpdateResult{}, err
}

// ContainerLogs has no logs to give: output goes to attached streams.
func (f *Engine) ContainerLogs(_ context.Context, id string, _ client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerLogs"); err != nil {
		return nil, err
	}
	if _, err := f.find(id); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader("")), nil
}
