package dockertest

import (
	"context"
	"errors"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// Objects lists the containers (in any state) and networks that carry
// label ("key=value"): what a test looks at to find leftovers, on a real
// engine or the fake.
func Objects(ctx context.Context, api docker.API, label string) (containers, networks []string, err error) {
	f := client.Filters{}.Add("label", label)
	cl, cerr := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	for _, c := range cl.Items {
		containers = append(containers, c.ID)
	}
	nl, nerr := api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	for _, n := range nl.Items {
		networks = append(networks, n.ID)
	}
	return containers, networks, errors.Join(cerr, nerr)
}

// Remove removes, as well as it can, the containers and networks that
// carry label: a test's clean-up, pass or fail.
func Remove(ctx context.Context, api docker.API, label string) {
	containers, networks, _ := Objects(ctx, api, label)
	for _, id := range containers {
		_, _ = api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
	for _, id := range networks {
		_, _ = api.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
	}
}
