package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// Labels every container and network dtask creates carries, so that a run
// killed with SIGKILL leaves leftovers the next run can find and remove.
const (
	LabelTool    = "dev.dtask.tool"    // always "dtask"
	LabelProject = "dev.dtask.project" // hash of the task file's absolute path
	LabelRun     = "dev.dtask.run"     // run id
	LabelTarget  = "dev.dtask.target"  // target or service name
)

// pingTimeout bounds the first call to an engine: a stopped or hung engine
// must be reported in seconds, not waited for.
const pingTimeout = 5 * time.Second

// Client is the Docker engine client with what dtask learned when it connected.
type Client struct {
	*client.Client
	Host       string // the DOCKER_HOST value or default socket tried
	APIVersion string // negotiated
}

// UnreachableError says the engine could not be reached or is too old; it
// makes dtask exit 3.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("docker engine unreachable at %s (DOCKER_HOST): %s", e.Host, cause(e.Err))
}

// cause says in a few words why the engine could not be reached: the
// client's own text repeats the host, URL-escaped, and wraps the reason.
func cause(err error) string {
	var errno syscall.Errno
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", pingTimeout)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &errno):
		return errno.Error()
	}
	return err.Error()
}
func (e *UnreachableError) Unwrap() error { return e.Err }
func (e *UnreachableError) ExitCode() int { return 3 }

// Connect connects to the engine named by DOCKER_HOST (or host, if not
// empty), negotiates the API version and pings it. extra options are
// applied last (a dialer for ssh:// hosts).
func Connect(ctx context.Context, host string, extra ...client.Opt) (*Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	opts = append(opts, extra...)
	c, err := client.New(opts...)
	if err != nil {
		return nil, &UnreachableError{Host: describeHost(host), Err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if err == nil && ping.APIVersion == "" {
		err = errors.New("engine did not report an API version")
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil { // interrupted, not unreachable: exit 130, not 3
			return nil, fmt.Errorf("connecting to the docker engine at %s: %w", c.DaemonHost(), ctx.Err())
		}
		return nil, &UnreachableError{Host: c.DaemonHost(), Err: err}
	}
	return &Client{
		Client:     c,
		Host:       c.DaemonHost(),
		APIVersion: c.ClientVersion(),
	}, nil
}

func describeHost(host string) string {
	if host != "" {
		return host
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}
