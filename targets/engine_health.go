package targets

import (
	"context"
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// StopGrace is how long a cancelled container gets between SIGTERM and SIGKILL.
const StopGrace = 10

// CleanupTimeout bounds the work done after the run's context is gone.
const CleanupTimeout = 30 * time.Second

// healthPing bounds the ping that decides whether clean-ups are worth
// waiting for: with Ctrl-C pressed and the engine hung, dtask must return
// within a few seconds, not after a clean-up timeout per object.
const healthPing = 1500 * time.Millisecond

// CleanupContext is the context for removing what a run created, used after
// the run's own context may have been cancelled. An engine that answers a
// ping gets CleanupTimeout; one that does not gets an expired context: the
// labels let the next run remove what is left. A hung engine is remembered
// for the rest of the run, so that clean-ups do not each wait for it.
func (e *Env) CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	if e.engineHung.Load() || e.docker == nil {
		return context.WithTimeout(base, 0)
	}
	pctx, cancel := context.WithTimeout(base, healthPing)
	_, err := e.docker.Ping(pctx, client.PingOptions{})
	cancel()
	if err != nil {
		e.engineHung.Store(true)
		return context.WithTimeout(base, 0)
	}
	return Detached(ctx)
}

// Detached is the context of work that must still happen once ctx is
// cancelled (removing a container, putting the previous one back): it
// keeps ctx's values, not its cancellation, and ends after CleanupTimeout
// so that a hung engine cannot hold dtask forever. Unlike CleanupContext
// it asks nothing of the run's engine: a deploy cleans up on its host's.
func Detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
}

// CreateGrace is how long a create the run was cancelled in the middle of
// may still take: enough for an engine to answer one (a network create
// takes well under a second), short enough that Ctrl-C with a hung engine
// still ends dtask within seconds.
const CreateGrace = 5 * time.Second

// Graced is the context of a create whose object the caller must learn
// of to remove it: it ends CreateGrace after ctx does, not at once, so
// that a create the engine is carrying out is answered with the object's
// ID instead of being given up on while the engine makes the object.
func Graced(ctx context.Context) (context.Context, context.CancelFunc) {
	return graced(ctx, func(end func()) { time.AfterFunc(CreateGrace, end) })
}

// graced is Graced with the grace given as later, which calls end once
// the grace is over: tests end it when they choose, not on a clock.
func graced(ctx context.Context, later func(end func())) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { later(cancel) })
	return c, func() { stop(); cancel() }
}

// EngineError turns err into an UnreachableError (exit 3) when it says
// the engine went away in the middle of an operation; other errors are
// returned as they are.
func (e *Env) EngineError(err error) error {
	var unreachable *docker.UnreachableError
	if err == nil || errors.As(err, &unreachable) || !engineGone(err) {
		return err
	}
	host := ""
	if e.docker != nil {
		host = e.docker.Host
	}
	return &docker.UnreachableError{Host: host, Err: errors.New("the engine stopped answering in the middle of the run")}
}

// engineGone reports errors that mean the connection to the engine failed
// rather than the engine refusing a request.
func engineGone(err error) bool {
	return client.IsErrConnectionFailed(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ENOENT) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
