package fakedocker

import (
	"context"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

type netw struct {
	id, name, driver string
	labels           map[string]string
}

// NetworkCreate creates a network; a name in use is a conflict. A Hold
// applies to it.
func (f *Engine) NetworkCreate(ctx context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	return held(ctx, f, "NetworkCreate", func() (client.NetworkCreateResult, error) { return f.networkCreate(name, o) })
}

func (f *Engine) networkCreate(name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("NetworkCreate"); err != nil {
		return client.NetworkCreateResult{}, err
	}
	for _, n := range f.networks {
		if n.name == name {
			return client.NetworkCreateResult{}, fmt.Errorf("%w: network with name %s already exists", cerrdefs.ErrConflict, name)
		}
	}
	n := &netw{id: f.newID(), name: name, driver: o.Driver, labels: maps.Clone(o.Labels)}
	f.networks[n.id] = n
	return client.NetworkCreateResult{ID: n.id}, nil
}

// findNetwork looks a network up by ID or name. The caller holds f.mu.
func (f *Engine) findNetwork(ref string) (*netw, error) {
	for _, n := range f.networks {
		if n.id == ref || n.name == ref {
			return n, nil
		}
	}
	return nil, notFound("network", ref)
}

func (n *netw) summary() network.Network {
	return network.Network{ID: n.id, Name: n.name, Driver: n.driver, Labels: n.labels}
}

// NetworkInspect describes a network.
func (f *Engine) NetworkInspect(_ context.Context, id string, _ client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("NetworkInspect"); err != nil {
		return client.NetworkInspectResult{}, err
	}
	n, err := f.findNetwork(id)
	if err != nil {
		return client.NetworkInspectResult{}, err
	}
	return client.NetworkInspectResult{Network: network.Inspect{Network: n.summary()}}, nil
}

// NetworkList lists the networks passing the label and name filters.
func (f *Engine) NetworkList(_ context.Context, o client.NetworkListOptions) (client.NetworkListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("NetworkList"); err != nil {
		return client.NetworkListResult{}, err
	}
	var res client.NetworkListResult
	for _, n := range f.networks {
		if matches(o.Filters, n.labels, n.name) {
			res.Items = append(res.Items, network.Summary{Network: n.summary()})
		}
	}
	return res, nil
}

// NetworkRemove removes a network.
func (f *Engine) NetworkRemove(_ context.Context, id string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("NetworkRemove"); err != nil {
		return client.NetworkRemoveResult{}, err
	}
	n, err := f.findNetwork(id)
	if err != nil {
		return client.NetworkRemoveResult{}, err
	}
	delete(f.networks, n.id)
	return client.NetworkRemoveResult{}, nil
}
