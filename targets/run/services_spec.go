package run

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
)

// serviceSpec is the container of a service: its definition, the run's
// labels, its name on the network, and for host commands its ports on
// loopback.
func (p *ServicePool) serviceSpec(ctx context.Context, cli *docker.Client, j svcJob) (ContainerSpec, error) {
	svc := j.svc
	binds, _, err := ResolveVolumes(p.e.File.Dir, svc.Volumes)
	if err != nil {
		return ContainerSpec{}, err
	}
	labels := p.e.RunLabels(svc.Name)
	labels[docker.LabelService] = svc.Name
	labels[docker.LabelServiceHash] = j.hash
	s := ContainerSpec{
		Name:    ctrName(p.e, svc.Name),
		Image:   j.image,
		Cmd:     svc.Cmd,
		Env:     MergeEnv(p.e.File.Env, svc.Env),
		Binds:   binds,
		Ports:   svc.Ports,
		Labels:  labels,
		Network: p.network,
		Aliases: []string{svc.Name},
		Health:  healthConfig(svc.Health),
	}
	if onLoopback(p.e, svc.Name) {
		exposed := imageExposed(ctx, cli, j.image)
		s.Ports = append(slices.Clone(svc.Ports), loopbackPorts(svc, exposed)...)
	}
	return s, nil
}

// loopbackPorts publishes each container port of svc that its ports do
// not publish already on a free loopback port: the ready.tcp port, the
// declared ones and those the image exposes.
func loopbackPorts(svc *taskfile.Service, exposed []int) []string {
	have := map[int]bool{}
	for _, spec := range svc.Ports {
		if n := containerPort(spec); n > 0 {
			have[n] = true
		}
	}
	want := map[int]bool{}
	if svc.Ready != nil && svc.Ready.TCP > 0 {
		want[svc.Ready.TCP] = true
	}
	for _, n := range exposed {
		want[n] = true
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if !have[n] {
			out = append(out, "127.0.0.1::"+strconv.Itoa(n))
		}
	}
	return out
}

// containerPort is the container side of a -p spec; 0 for UDP or a bad one.
func containerPort(spec string) int {
	spec, proto, _ := strings.Cut(spec, "/")
	if proto != "" && proto != "tcp" {
		return 0
	}
	parts := splitPortSpec(spec)
	n, _ := strconv.Atoi(parts[len(parts)-1])
	return n
}

// imageExposed lists the TCP ports an image's EXPOSE declares.
func imageExposed(ctx context.Context, cli *docker.Client, ref string) []int {
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil || res.Config == nil {
		return nil
	}
	var out []int
	for p := range res.Config.ExposedPorts {
		if n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp")); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// healthConfig turns a compose healthcheck into the engine's; nil keeps
// the image's HEALTHCHECK.
func healthConfig(h *taskfile.Health) *container.HealthConfig {
	if h == nil {
		return nil
	}
	return &container.HealthConfig{
		Test:        h.Test,
		Interval:    h.Interval.Duration,
		Timeout:     h.Timeout.Duration,
		StartPeriod: h.StartPeriod.Duration,
		Retries:     h.Retries,
	}
}
