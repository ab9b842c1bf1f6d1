package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// MinAPIVersion is the oldest engine API dtask speaks (Docker 20.10); the
// client negotiates from there up to the newest both sides know.
const MinAPIVersion = "1.41"

// Labels every container and network dtask creates carries, so that a run
// killed with SIGKILL leaves leftovers the next run can find and remove.
const (
	LabelTool    = "dev.dtask.tool"    // always "dtask"
	LabelProject = "dev.dtask.project" // hash of the task file's absolute path
	LabelRun     = "dev.dtask.run"     // run id
	LabelTarget  = "dev.dtask.target"  // target or service name
)

// Client is a connection to an engine (the API, real or fake) with what
// dtask learned when it connected.
type Client struct {
	API
	Host       string // the DOCKER_HOST value or default socket tried
	APIVersion string // negotiated
	// Owner is the run this is the default engine of (a targets.Env), or
	// nil: helpers handed only a connection use that run's image caches,
	// and never for another engine (a deploy host).
	Owner any
}

// UnreachableError says the engine could not be reached or is too old; it
// makes dtask exit 3.
type UnreachableError struct {
	Host    string
	Err     error
	Timeout time.Duration // the ping deadline that passed, if one did
}

func (e *UnreachableError) Error() string {
	if old := (*TooOldError)(nil); errors.As(e.Err, &old) {
		return fmt.Sprintf("docker engine at %s (DOCKER_HOST) is too old: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("docker engine unreachable at %s (DOCKER_HOST): %s", e.Host, cause(e.Err, e.Timeout))
}

// cause says in a few words why the engine could not be reached: the
// client's own text repeats the host, URL-escaped, and wraps the reason.
func cause(err error, timeout time.Duration) string {
	var errno syscall.Errno
	var ssh *sshError
	switch {
	case errors.As(err, &ssh): // before errno: ssh's words say why, EPIPE does not
		return "ssh: " + ssh.msg
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &errno):
		return errno.Error()
	}
	return err.Error()
}

// TooOldError is an engine whose newest API is older than MinAPIVersion.
type TooOldError struct {
	API     string // the newest API version the engine offers
	Release string // its Docker version, when it said
}

func (e *TooOldError) Error() string {
	engine := "it speaks API " + e.API
	if e.Release != "" {
		engine = "Docker " + e.Release + " speaks API " + e.API
	}
	return fmt.Sprintf("%s; dtask needs API %s or newer (Docker 20.10 or later)", engine, MinAPIVersion)
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
	pctx, cancel := context.WithTimeout(ctx, pingTimeout(host))
	defer cancel()
	ping, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if err == nil && ping.APIVersion == "" {
		err = errors.New("engine did not report an API version")
	}
	if ping.APIVersion != "" && versions.LessThan(ping.APIVersion, MinAPIVersion) {
		err = tooOld(pctx, opts, ping.APIVersion)
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil { // interrupted, not unreachable: exit 130, not 3
			return nil, fmt.Errorf("connecting to the docker engine at %s: %w", c.DaemonHost(), ctx.Err())
		}
		return nil, &UnreachableError{Host: c.DaemonHost(), Err: err, Timeout: pingTimeout(host)}
	}
	return &Client{
		API:        c,
		Host:       c.DaemonHost(),
		APIVersion: c.ClientVersion(),
	}, nil
}

// pingTimeout bounds the first answer: a stopped or hung engine must be
// reported in seconds, not waited for. Through ssh it includes the login
// and starting the remote docker CLI, which can take longer than 10s on a
// loaded machine; ssh's own ConnectTimeout (30s) bounds the connection.
func pingTimeout(host string) time.Duration {
	if host == sshPlaceholderHost {
		return 45 * time.Second
	}
	return 5 * time.Second
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

// tooOld says which engine answered and what dtask needs; the engine's
// release is named when its /version answers at the API it offers.
func tooOld(ctx context.Context, opts []client.Opt, api string) error {
	e := &TooOldError{API: api}
	old, err := client.New(append(opts, client.WithAPIVersion(api))...)
	if err == nil {
		defer old.Close()
		if v, err := old.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
			e.Release = v.Version
		}
	}
	return e
}
