package run

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// execIn runs cmd inside a running container and returns its exit code and
// its combined output (the last 4 KiB: enough to explain a failure).
func execIn(ctx context.Context, cli *docker.Client, id string, cmd []string) (int, string, error) {
	cr, err := cli.ExecCreate(ctx, id, client.ExecCreateOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return 0, "", fmt.Errorf("exec: %w", err)
	}
	at, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, "", fmt.Errorf("exec: %w", err)
	}
	// The hijacked connection does not follow ctx once established.
	stop := context.AfterFunc(ctx, at.Close)
	defer stop()
	defer at.Close()
	out := &tailBuffer{max: 4096}
	_, _ = stdcopy.StdCopy(out, out, at.Reader)
	if err := ctx.Err(); err != nil {
		return 0, out.String(), err
	}
	for {
		ins, err := cli.ExecInspect(ctx, cr.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, out.String(), fmt.Errorf("exec: %w", err)
		}
		if !ins.Running {
			return ins.ExitCode, out.String(), nil
		}
		select {
		case <-ctx.Done():
			return 0, out.String(), ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if t.cut {
		return "..." + string(t.b)
	}
	return string(t.b)
}
