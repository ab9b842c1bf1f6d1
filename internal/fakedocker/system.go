package fakedocker

import (
	"context"
	"maps"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// ClientVersion is the API version the connection speaks.
func (f *Engine) ClientVersion() string { return APIVersion }

// Close ends nothing: the fake outlives its connections.
func (f *Engine) Close() error { return nil }

// Ping answers as a Linux engine does.
func (f *Engine) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Ping"); err != nil {
		return client.PingResult{}, err
	}
	return client.PingResult{APIVersion: APIVersion, OSType: "linux"}, nil
}

// Info describes an overlay2 engine.
func (f *Engine) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Info"); err != nil {
		return client.SystemInfoResult{}, err
	}
	return client.SystemInfoResult{Info: system.Info{Driver: "overlay2", OSType: "linux", ServerVersion: "fake"}}, nil
}

// VolumeCreate creates (or finds) a named volume.
func (f *Engine) VolumeCreate(_ context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("VolumeCreate"); err != nil {
		return client.VolumeCreateResult{}, err
	}
	if _, ok := f.volumes[o.Name]; !ok {
		f.volumes[o.Name] = maps.Clone(o.Labels)
	}
	return client.VolumeCreateResult{Volume: volume.Volume{Name: o.Name, Labels: f.volumes[o.Name]}}, nil
}

// VolumeList lists the volumes passing the label and name filters.
func (f *Engine) VolumeList(_ context.Context, o client.VolumeListOptions) (client.VolumeListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("VolumeList"); err != nil {
		return client.VolumeListResult{}, err
	}
	var res client.VolumeListResult
	for name, labels := range f.volumes {
		if matches(o.Filters, labels, name) {
			res.Items = append(res.Items, volume.Volume{Name: name, Labels: labels})
		}
	}
	return res, nil
}

// VolumeInspect answers for a volume the fake holds.
func (f *Engine) VolumeInspect(_ context.Context, name string, _ client.VolumeInspectOptions) (client.VolumeInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("VolumeInspect"); err != nil {
		return client.VolumeInspectResult{}, err
	}
	labels, ok := f.volumes[name]
	if !ok {
		return client.VolumeInspectResult{}, notFound("volume", name)
	}
	return client.VolumeInspectResult{Volume: volume.Volume{Name: name, Labels: labels}}, nil
}

// VolumeRemove removes a volume.
func (f *Engine) VolumeRemove(_ context.Context, name string, _ client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("VolumeRemove"); err != nil {
		return client.VolumeRemoveResult{}, err
	}
	if _, ok := f.volumes[name]; !ok {
		return client.VolumeRemoveResult{}, notFound("volume", name)
	}
	delete(f.volumes, name)
	return client.VolumeRemoveResult{}, nil
}
