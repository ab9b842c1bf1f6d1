package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// runContainer creates the container s describes, streams its output to
// stdout and stderr while it runs, removes it and returns its exit code.
// When ctx ends first, the container is stopped (SIGTERM, then SIGKILL
// after StopGrace seconds) and removed, and ctx's error is returned.
func runContainer(ctx context.Context, e *targets.Env, cli *docker.Client, s ContainerSpec, stdout, stderr io.Writer) (int, error) {
	id, err := CreateContainer(ctx, e, cli, s)
	if err != nil {
		return 0, err
	}
	defer func() {
		// Removing after the output was read, not AutoRemove: an auto-removed
		// container can vanish before its last output or exit code is read.
		rctx, cancel := e.CleanupContext(ctx)
		defer cancel()
		_ = e.RemoveContainer(rctx, cli, id)
	}()

	detach, copied, err := attach(ctx, cli, id, stdout, stderr)
	if err != nil {
		return 0, err
	}
	defer detach()

	// Registered before start so that a container exiting at once is not missed.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	wait := cli.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})

	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return 0, fmt.Errorf("starting container from %s: %w", s.Image, err)
	}

	select {
	case res := <-wait.Result:
		// The attach stream ends when the container exits; wait for the
		// last bytes, but never hang on a stream the engine keeps open.
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		if res.Error != nil && res.Error.Message != "" {
			return int(res.StatusCode), fmt.Errorf("waiting for container: %s", res.Error.Message)
		}
		if s.AfterExit != nil {
			s.AfterExit(ctx, cli, id)
		}
		return int(res.StatusCode), nil
	case err := <-wait.Error:
		if ctx.Err() == nil {
			return 0, fmt.Errorf("waiting for container: %w", err)
		}
	case <-ctx.Done():
	}
	sctx, cancel := e.CleanupContext(ctx)
	defer cancel()
	_, serr := cli.ContainerStop(sctx, id, client.ContainerStopOptions{Timeout: new(targets.StopGrace)})
	return 0, errors.Join(ctx.Err(), serr)
}

// attach streams container id's output to stdout and stderr (nil:
// discarded); copied receives the end of the stream, detach closes it.
func attach(ctx context.Context, cli *docker.Client, id string, stdout, stderr io.Writer) (detach func(), copied <-chan error, err error) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	att, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, nil, fmt.Errorf("attaching to container: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		done <- err
	}()
	return att.Close, done, nil
}
