package run

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Addresses returns, for each named running service, where host commands
// reach it, as CI providers' service containers say it:
// DTASK_SERVICE_<NAME>_HOST, DTASK_SERVICE_<NAME>_PORT (the ready.tcp
// port, else the first declared port, else the lowest published one) and
// DTASK_SERVICE_<NAME>_PORT_<n> for each published container port n.
func (p *ServicePool) Addresses(ctx context.Context, names []string) ([]string, error) {
	cli, err := p.e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var env []string
	for _, name := range names {
		r := p.running[name]
		if r == nil {
			return nil, fmt.Errorf("service %s is not running", name)
		}
		res, err := cli.ContainerInspect(ctx, r.id, client.ContainerInspectOptions{})
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		ports := map[int]string{}
		if ns := res.Container.NetworkSettings; ns != nil {
			for port, binds := range ns.Ports {
				if port.Proto() == "tcp" && len(binds) > 0 {
					ports[int(port.Num())] = binds[0].HostPort
				}
			}
		}
		env = append(env, serviceEnv(p.e.File.Services[name], ports)...)
	}
	return env, nil
}

// serviceEnv is the DTASK_SERVICE_* variables of one service whose
// container ports are published on the given host ports.
func serviceEnv(svc *taskfile.Service, ports map[int]string) []string {
	prefix := "DTASK_SERVICE_" + envName(svc.Name) + "_"
	env := []string{prefix + "HOST=127.0.0.1"}
	if main := mainPort(svc, ports); main != 0 {
		env = append(env, prefix+"PORT="+ports[main])
	}
	var nums []int
	for n := range ports {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		env = append(env, prefix+"PORT_"+strconv.Itoa(n)+"="+ports[n])
	}
	return env
}

// mainPort is the container port DTASK_SERVICE_<NAME>_PORT names.
func mainPort(svc *taskfile.Service, ports map[int]string) int {
	if svc.Ready != nil && svc.Ready.TCP > 0 && ports[svc.Ready.TCP] != "" {
		return svc.Ready.TCP
	}
	for _, spec := range svc.Ports {
		if n := containerPort(spec); ports[n] != "" {
			return n
		}
	}
	low := 0
	for n := range ports {
		if low == 0 || n < low {
			low = n
		}
	}
	return low
}

// envName upper-cases a service name and makes it a variable name.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}
