package fakedocker

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ctr is one container. Its exited channel closes when it stops running
// (or is removed), which is what waits wait on.
type ctr struct {
	id, name string
	cfg      container.Config
	host     container.HostConfig
	state    container.ContainerState
	code     int
	exited   chan struct{}
	attached []net.Conn // engine ends of attach streams
}

// ContainerCreate creates a container from a local image; a name in use
// is a conflict, as on the engine.
func (f *Engine) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerCreate"); err != nil {
		return client.ContainerCreateResult{}, err
	}
	c := &ctr{id: f.newID(), name: o.Name, state: container.StateCreated, exited: make(chan struct{})}
	if o.Config != nil {
		c.cfg = *o.Config
	}
	if o.Image != "" {
		c.cfg.Image = o.Image
	}
	if o.HostConfig != nil {
		c.host = *o.HostConfig
	}
	if _, ok := f.images[normal(c.cfg.Image)]; !ok {
		return client.ContainerCreateResult{}, notFound("image", c.cfg.Image)
	}
	if c.name != "" && f.byName(c.name) != nil {
		return client.ContainerCreateResult{}, fmt.Errorf("%w: container name %q is already in use", cerrdefs.ErrConflict, c.name)
	}
	f.containers[c.id] = c
	return client.ContainerCreateResult{ID: c.id}, nil
}

func (f *Engine) byName(name string) *ctr {
	for _, c := range f.containers {
		if strings.TrimPrefix(c.name, "/") == strings.TrimPrefix(name, "/") {
			return c
		}
	}
	return nil
}

// find looks a container up by ID, ID prefix or name. The caller holds f.mu.
func (f *Engine) find(ref string) (*ctr, error) {
	if c := f.byName(ref); c != nil {
		return c, nil
	}
	for id, c := range f.containers {
		if ref != "" && strings.HasPrefix(id, ref) {
			return c, nil
		}
	}
	return nil, notFound("container", ref)
}

// ContainerStart runs the container's Outcome: its output goes to the
// attached streams, then it exits unless the outcome blocks.
func (f *Engine) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerStart"); err != nil {
		return client.ContainerStartResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerStartResult{}, err
	}
	out := Outcome{}
	if f.Run != nil {
		out = f.Run(c.cfg.Image, c.cfg.Cmd)
	}
	c.state = container.StateRunning
	conns := c.attached
	c.attached = nil
	go stream(conns, out)
	if !out.Block {
		c.exit(out.Code)
	}
	return client.ContainerStartResult{}, nil
}

// stream writes out to each attached stream, multiplexed as the engine
// does, and closes it: the end of the stream is the end of the output.
func stream(conns []net.Conn, out Outcome) {
	for _, conn := range conns {
		_, _ = conn.Write(frame(stdcopy.Stdout, out.Stdout))
		_, _ = conn.Write(frame(stdcopy.Stderr, out.Stderr))
		_ = conn.Close()
	}
}

// frame is s as one frame of the engine's multiplexed stream: the stream
// number, three zero bytes, the length (big-endian), the bytes.
func frame(stream stdcopy.StdType, s string) []byte {
	if s == "" {
		return nil
	}
	b := make([]byte, 8, 8+len(s))
	b[0] = byte(stream)
	binary.BigEndian.PutUint32(b[4:], uint32(len(s)))
	return append(b, s...)
}

// exit ends a running container with code. The caller holds f.mu.
func (c *ctr) exit(code int) {
	if c.state == container.StateExited {
		return
	}
	c.state, c.code = container.StateExited, code
	close(c.exited)
}

// ContainerAttach returns a stream that carries what the container prints
// once started.
func (f *Engine) ContainerAttach(_ context.Context, id string, _ client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ContainerAttach"); err != nil {
		return client.ContainerAttachResult{}, err
	}
	c, err := f.find(id)
	if err != nil {
		return client.ContainerAttachResult{}, err
	}
	mine, theirs := net.Pipe()
	c.attached = append(c.attached, theirs)
	return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(mine, "")}, nil
}

// ContainerWait answers when the container has exited (or is removed).
func (f *Engine) ContainerWait(ctx context.Context, id string, _ client.ContainerWaitOptions) client.ContainerWaitResult {
	res, errs := make(chan container.WaitResponse, 1), make(chan error, 1)
	f.mu.Lock()
	err := f.call("ContainerWait")
	c, ferr := f.find(id)
	f.mu.Unlock()
	if err == nil {
		err = ferr
	}
	if err != nil {
		errs <- err
		return client.ContainerWaitResult{Result: res, Error: errs}
	}
	go func() {
		select {
		case <-c.exited:
			f.mu.Lock()
			res <- container.WaitResponse{StatusCode: int64(c.code)}
			f.mu.Unlock()
		case <-ctx.Done():
			errs <- ctx.Err()
		}
	}()
	return client.ContainerWaitResult{Result: res, Error: errs}
}
