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

// healthProbe waits for the engine to call the container healthy, when
// it has a HEALTHCHECK: the engine runs the check at the image's (or the
// compose file's) interval after its start period, so dtask only reads
// the status. The timeout covers the start period and every retry. nil
// when the container has no HEALTHCHECK.
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
	check = func(ctx context.Context) (bool, string, error) {
		res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return false, "", err
		}
		st := res.Container.State
		if st == nil || st.Health == nil {
			return false, "no health status yet", nil
		}
		return st.Health.Status == container.Healthy, healthOutput(st.Health), nil
	}
	return check, timeout, DefaultReadyInterval
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
