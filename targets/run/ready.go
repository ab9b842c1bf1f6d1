package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
)

const (
	DefaultReadyTimeout  = 60 * time.Second
	DefaultReadyInterval = 250 * time.Millisecond
	ProbeTimeout         = 10 * time.Second
)

// probe checks once whether a service is ready; out explains a "no".
type Probe func(ctx context.Context) (ok bool, out string, err error)

// waitReady polls svc's ready check until it passes, the service exits or
// the timeout passes; the error then names the service and shows the last
// probe's output. Without a ready table it waits for the container's
// HEALTHCHECK (the image's or the compose file's) if it has one. what
// describes the check that passed.
func (p *ServicePool) waitReady(ctx context.Context, cli *docker.Client, svc *taskfile.Service, id string, log *svcLog) (what string, err error) {
	r := svc.Ready
	var check Probe
	var timeout, interval time.Duration
	if r == nil || (r.Cmd == "" && r.TCP == 0 && r.HTTP == "") {
		check, timeout, interval = healthProbe(ctx, cli, id)
		if check == nil {
			return "no ready check and no HEALTHCHECK: started is ready", nil
		}
		what = "HEALTHCHECK healthy"
	} else {
		timeout, interval = r.Timeout.Duration, r.Interval.Duration
		check, what = p.ReadyProbe(cli, svc, id)
	}
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if interval <= 0 {
		interval = DefaultReadyInterval
	}
	log.step("waiting for service %s (%s, every %s, up to %s)", svc.Name, what, interval, timeout)
	return what, pollReady(ctx, cli, svc.Name, id, check, what, timeout, interval)
}

// pollReady runs check every interval until it passes, the container
// exits or timeout passes.
func pollReady(ctx context.Context, cli *docker.Client, name, id string, check Probe, what string, timeout, interval time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		pctx, cancel := context.WithTimeout(ctx, min(ProbeTimeout, time.Until(deadline)+time.Second))
		ok, out, err := check(pctx)
		cancel()
		if ok {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			out = strings.TrimSpace(out + "\n" + err.Error())
		}
		last = out
		if err := serviceExited(ctx, cli, name, id); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s not ready after %s (%s); last Probe output:\n%s",
				name, timeout, what, strings.TrimSpace(last))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// ReadyProbe returns the check svc's ready table asks for and a description.
func (p *ServicePool) ReadyProbe(cli *docker.Client, svc *taskfile.Service, id string) (Probe, string) {
	r := svc.Ready
	switch {
	case r.Cmd != "":
		return func(ctx context.Context) (bool, string, error) {
			code, out, err := execIn(ctx, cli, id, []string{"sh", "-c", r.Cmd})
			if err == nil && code != 0 {
				out = fmt.Sprintf("%s(exit code %d)", out, code)
			}
			return err == nil && code == 0, out, err
		}, fmt.Sprintf("cmd %q", r.Cmd)
	case r.TCP != 0:
		return p.TCPProbe(cli, svc, id, r.TCP), fmt.Sprintf("tcp %d", r.TCP)
	default:
		return p.HTTPProbe(cli, svc, id, r.HTTP), fmt.Sprintf("http %s", r.HTTP)
	}
}

// serviceExited returns an error with the service's last log lines when its
// container is no longer running: waiting longer would be pointless.
func serviceExited(ctx context.Context, cli *docker.Client, name, id string) error {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("service %s: %w", name, err)
	}
	st := res.Container.State
	if st == nil || st.Running {
		return nil
	}
	return fmt.Errorf("service %s exited with code %d before it was ready; its last output:\n%s",
		name, st.ExitCode, ContainerTail(ctx, cli, id, 20))
}

// ContainerTail returns the last lines of a container's output.
func ContainerTail(ctx context.Context, cli *docker.Client, id string, lines int) string {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(lines),
	})
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	out := &tailBuffer{max: 4096}
	_, _ = stdcopy.StdCopy(out, out, rc)
	return strings.TrimSpace(out.String())
}
