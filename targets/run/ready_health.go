package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// Docker's defaults for a HEALTHCHECK that leaves a value out.
const (
	healthInterval = 30 * time.Second
	healthTimeout  = 30 * time.Second
	healthRetries  = 3
)

// healthProbe waits for the container's HEALTHCHECK to pass, when it has
// one. The engine runs the check at the image's (or the compose file's)
// interval, first one interval after the start: with the usual 1s-30s,
// a service ready in 2s would wait for the next tick. So besides reading
// the engine's status, each poll runs the check's own command in the
// container, as a CI script polling it would; one pass is what makes the
// engine call it healthy too (a pass in the start period counts). The
// timeout covers the start period and every retry. nil when the
// container has no HEALTHCHECK.
func healthProbe(ctx context.Context, cli *docker.Client, id string) (check Probe, timeout, poll time.Duration) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || res.Container.Config == nil {
		return nil, 0, 0
	}
	hc := res.Container.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil, 0, 0
	}
	timeout = healthBudget(hc)
	cmd := healthCommand(hc.Test, res.Container.Config.Shell)
	check = func(ctx context.Context) (bool, string, error) {
		res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return false, "", err
		}
		st := res.Container.State
		if st != nil && st.Health != nil && st.Health.Status == container.Healthy {
			return true, healthOutput(st.Health), nil
		}
		if cmd != nil {
			if code, _, err := execIn(ctx, cli, id, cmd); err == nil && code == 0 {
				return true, "the HEALTHCHECK command passed", nil
			}
		}
		if st == nil || st.Health == nil {
			return false, "no health status yet", nil
		}
		return false, healthOutput(st.Health), nil
	}
	return check, timeout, DefaultReadyInterval
}

// healthCommand is the command a HEALTHCHECK test runs, as the engine
// runs it: CMD's arguments, or CMD-SHELL's string through the
// container's shell (default /bin/sh -c); nil for a test it cannot run.
func healthCommand(test, shell []string) []string {
	switch {
	case len(test) > 1 && test[0] == "CMD":
		return test[1:]
	case len(test) == 2 && test[0] == "CMD-SHELL":
		if len(shell) == 0 {
			shell = []string{"/bin/sh", "-c"}
		}
		return append(append([]string{}, shell...), test[1])
	}
	return nil
}

// healthBudget is how long a healthcheck may take to pass: its start
// period, then every retry's interval and timeout, and one more interval.
func healthBudget(hc *container.HealthConfig) time.Duration {
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = healthInterval
	}
	if timeout <= 0 {
		timeout = healthTimeout
	}
	if retries <= 0 {
		retries = healthRetries
	}
	return max(DefaultReadyTimeout, hc.StartPeriod+time.Duration(retries)*(interval+timeout)+interval)
}

// healthOutput is the status and the last check's output.
func healthOutput(h *container.Health) string {
	out := fmt.Sprintf("health: %s", h.Status)
	if n := len(h.Log); n > 0 {
		last := h.Log[n-1]
		out += fmt.Sprintf(" (last check exited %d: %s)", last.ExitCode, strings.TrimSpace(last.Output))
	}
	return out
}
