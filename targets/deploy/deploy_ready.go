package deploy

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/run"
)

// A deploy's ready check names what users check by hand after a deploy:
// ports as published on the engine's host (http://127.0.0.1:3001/health
// for ports = ["3001:3000"]). Where it runs:
//   - cmd always runs inside the new container;
//   - on a local engine (no host, unix://, or tcp/ssh to a loopback
//     address) http and tcp are tried from this machine, where the
//     published ports are;
//   - on a remote engine this machine's 127.0.0.1 is not the remote's, and
//     a firewall often hides the published port from CI runners, so the
//     check runs inside the new container (the services' probes: curl or
//     wget for http, /proc/net/tcp for tcp), with a loopback URL's
//     published port turned into the container port it maps to. A URL
//     naming another host is fetched as written, from inside the container.
//     An image without sh (and curl or wget for http) needs ready.cmd.

// hostPort is one published port: where to reach it from the host.
type hostPort struct {
	ip        string // host address it is bound to; "" for all
	host, ctr int
}

// published lists the deploy's published tcp ports.
func published(specs []string) ([]hostPort, error) {
	_, bindings, err := run.ParsePorts(specs)
	if err != nil {
		return nil, err
	}
	var out []hostPort
	for p, bs := range bindings {
		if p.Proto() != "tcp" {
			continue
		}
		for _, b := range bs {
			h, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue // an engine-chosen or ranged host port: not addressable here
			}
			hp := hostPort{host: h, ctr: int(p.Num())}
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				hp.ip = b.HostIP.String()
			}
			out = append(out, hp)
		}
	}
	return out, nil
}

// readyCheck returns the probe for the deploy's ready table and a description.
func (a *deployAction) readyCheck(cli *docker.Client, id string) (run.Probe, string, error) {
	r := a.d().Ready
	ports, err := published(a.d().Ports)
	if err != nil {
		return nil, "", err
	}
	// The services' probes, run inside the container on the default network.
	pool := run.NewProber(a.e, "bridge")
	svc := &taskfile.Service{Name: a.d().Name, Ready: r}
	switch {
	case r.Cmd != "":
		check, what := pool.ReadyProbe(cli, svc, id)
		return check, what, nil
	case !a.remote() && r.TCP != 0:
		addr := hostAddr(ports, r.TCP)
		return func(ctx context.Context) (bool, string, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return false, "", err
			}
			conn.Close()
			return true, "", nil
		}, "tcp " + addr, nil
	case !a.remote():
		return func(ctx context.Context) (bool, string, error) {
			return run.HTTPOK(ctx, r.HTTP)
		}, "http " + r.HTTP, nil
	case r.TCP != 0:
		port := ctrPort(ports, r.TCP)
		return pool.TCPProbe(cli, svc, id, port), fmt.Sprintf("tcp %d inside the container", port), nil
	default:
		u := ctrURL(ports, r.HTTP)
		return pool.HTTPProbe(cli, svc, id, u), "http " + u + " inside the container", nil
	}
}

// hostAddr is where tcp port n answers on this machine: n as a published
// host port, or else the host port a container port n is published on.
func hostAddr(ports []hostPort, n int) string {
	ip, port := "127.0.0.1", n
	for _, p := range ports {
		if p.host == n {
			return net.JoinHostPort(cmp.Or(p.ip, ip), strconv.Itoa(n))
		}
	}
	for _, p := range ports {
		if p.ctr == n {
			ip, port = cmp.Or(p.ip, ip), p.host
			break
		}
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// ctrPort is the container port a published host port n maps to.
func ctrPort(ports []hostPort, n int) int {
	for _, p := range ports {
		if p.host == n {
			return p.ctr
		}
	}
	return n
}

// ctrURL rewrites a loopback URL's published port to the container port.
func ctrURL(ports []hostPort, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !hostIsLocal("tcp://"+u.Host) {
		return raw
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		return raw
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrPort(ports, n)))
	return u.String()
}

// waitReady polls the ready check until it passes, the container stops or
// the timeout passes. Without a ready table the container only has to
// keep running for a moment.
func (a *deployAction) waitReady(ctx context.Context, cli *docker.Client, id string, progress func(string)) error {
	r := a.d().Ready
	if r == nil || (r.Cmd == "" && r.TCP == 0 && r.HTTP == "") {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		return stillRunning(ctx, cli, id)
	}
	timeout, interval := r.Timeout.Duration, r.Interval.Duration
	if timeout <= 0 {
		timeout = run.DefaultReadyTimeout
	}
	if interval <= 0 {
		interval = run.DefaultReadyInterval
	}
	check, what, err := a.readyCheck(cli, id)
	if err != nil {
		return err
	}
	progress(fmt.Sprintf("waiting for %s (%s)", a.d().Name, what))
	deadline := time.Now().Add(timeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, min(run.ProbeTimeout, time.Until(deadline)+time.Second))
		ok, out, probeErr := check(pctx)
		cancel()
		switch {
		case ok:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if err := stillRunning(ctx, cli, id); err != nil {
			return err
		}
		if probeErr != nil {
			out = strings.TrimSpace(out + "\n" + probeErr.Error())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (%s); last check: %s", timeout, what, strings.TrimSpace(out))
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// stillRunning fails when the container has stopped: waiting longer
// would be pointless.
func stillRunning(ctx context.Context, cli *docker.Client, id string) error {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspecting the new container: %w", err)
	}
	if st := res.Container.State; st != nil && !st.Running {
		return fmt.Errorf("the new container exited with code %d before it was ready", st.ExitCode)
	}
	return nil
}
