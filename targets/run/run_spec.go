package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// ContainerSpec is a container dtask creates: a run target's or a service's.
type ContainerSpec struct {
	Name       string            `json:"-"`
	Image      string            `json:"image"`
	Cmd        []string          `json:"cmd,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Env        []string          `json:"env,omitempty"`
	Workdir    string            `json:"workdir,omitempty"`
	User       string            `json:"user,omitempty"`
	Binds      []string          `json:"volumes,omitempty"` // host paths made absolute
	Ports      []string          `json:"ports,omitempty"`
	Labels     map[string]string `json:"-"`
	Network    string            `json:"-"` // network name to join
	Aliases    []string          `json:"-"` // names on that network
	// Health replaces the image's HEALTHCHECK (a compose healthcheck).
	Health *container.HealthConfig `json:"-"`
	// Mounts are named volumes (cache volumes) mounted at container paths.
	Mounts map[string]string `json:"-"` // container path -> volume name
	// AfterExit runs once the container has exited, before it is removed
	// (copying reports out).
	AfterExit func(ctx context.Context, cli *docker.Client, id string) `json:"-"`
}

// MergeEnv merges env maps, later ones winning, into sorted KEY=value pairs.
func MergeEnv(maps_ ...map[string]string) []string {
	all := map[string]string{}
	for _, m := range maps_ {
		maps.Copy(all, m)
	}
	out := make([]string, 0, len(all))
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, k+"="+all[k])
	}
	return out
}

// ResolveVolumes makes the host side of bind mounts absolute (relative to
// dir) and returns them with the host paths. A source that is not a path
// (no "/" or leading ".") is a named volume.
func ResolveVolumes(dir string, vols []string) (binds, hostPaths []string, err error) {
	for _, v := range vols {
		src, ok, err := sources.HostPath(dir, v)
		if err != nil {
			return nil, nil, err
		}
		_, rest, _ := strings.Cut(v, ":")
		if !ok {
			src, _, _ = strings.Cut(v, ":")
		} else {
			hostPaths = append(hostPaths, src)
		}
		binds = append(binds, src+":"+rest)
	}
	return binds, hostPaths, nil
}

// ParsePorts reads docker run -p specs: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO].
func ParsePorts(specs []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, s := range specs {
		ctr, proto, _ := strings.Cut(s, "/")
		if proto == "" {
			proto = "tcp"
		}
		var ip, host string
		parts := splitPortSpec(ctr)
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ip, host, ctr = parts[0], parts[1], parts[2]
		default:
			return nil, nil, fmt.Errorf("port %q: want [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]", s)
		}
		p, err := network.ParsePort(ctr + "/" + proto)
		if err != nil {
			return nil, nil, fmt.Errorf("port %q: %w", s, err)
		}
		b := network.PortBinding{HostPort: host}
		if ip != "" {
			addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
			if err != nil {
				return nil, nil, fmt.Errorf("port %q: %w", s, err)
			}
			b.HostIP = addr
		}
		exposed[p] = struct{}{}
		bindings[p] = append(bindings[p], b)
	}
	return exposed, bindings, nil
}

// splitPortSpec splits on ":" but keeps a bracketed IPv6 address whole.
func splitPortSpec(s string) []string {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]:"); i > 0 {
			return append([]string{s[:i+1]}, strings.Split(s[i+2:], ":")...)
		}
	}
	return strings.Split(s, ":")
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// ctrName makes a readable, unique container or network name.
func ctrName(e *targets.Env, parts ...string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	proj := e.Project
	if len(proj) > 8 {
		proj = proj[:8]
	}
	name := "dtask-" + proj
	for _, p := range parts {
		name += "-" + nameUnsafe.ReplaceAllString(p, "_")
	}
	return strings.Trim(name, "-") + "-" + hex.EncodeToString(b)
}

// CreateContainer creates the container s describes and records it for Cleanup.
func CreateContainer(ctx context.Context, e *targets.Env, cli *docker.Client, s ContainerSpec) (string, error) {
	exposed, bindings, err := ParsePorts(s.Ports)
	if err != nil {
		return "", err
	}
	cfg := &container.Config{
		Image:        s.Image,
		Cmd:          s.Cmd,
		Entrypoint:   s.Entrypoint,
		Env:          s.Env,
		WorkingDir:   s.Workdir,
		User:         s.User,
		Labels:       s.Labels,
		ExposedPorts: exposed,
		Healthcheck:  s.Health,
		AttachStdout: true,
		AttachStderr: true,
	}
	hc := &container.HostConfig{Binds: s.Binds, PortBindings: bindings, Init: new(true), Mounts: volumeMounts(s.Mounts)}
	var nc *network.NetworkingConfig
	if s.Network != "" {
		hc.NetworkMode = container.NetworkMode(s.Network)
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			s.Network: {Aliases: s.Aliases},
		}}
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: s.Name, Config: cfg, HostConfig: hc, NetworkingConfig: nc,
	})
	if res.ID != "" {
		e.Track(false, res.ID)
	}
	if err != nil {
		return "", fmt.Errorf("creating container from %s: %w", s.Image, err)
	}
	return res.ID, nil
}
