package docker

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
)

// BuildSession is a BuildKit session attached to the engine over
// POST /session; a build that names its ID can ask it for secrets.
type BuildSession struct {
	s    *session.Session
	done chan error
}

// StartBuildSession opens a session that serves secrets (id -> value) to
// `RUN --mount=type=secret,id=...`. The values never leave this process
// except over the session to the builder, which mounts them as tmpfs files.
func (c *Client) StartBuildSession(ctx context.Context, name string, secrets map[string][]byte) (*BuildSession, error) {
	s, err := session.NewSession(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("starting build session: %w", err)
	}
	s.Allow(secretsprovider.FromMap(secrets))
	dial := func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		return c.DialHijack(ctx, "/session", proto, meta)
	}
	bs := &BuildSession{s: s, done: make(chan error, 1)}
	go func() { bs.done <- s.Run(ctx, dial) }()
	return bs, nil
}

// ID is what the build request passes as its session.
func (b *BuildSession) ID() string { return b.s.ID() }

// Close ends the session.
func (b *BuildSession) Close() error {
	b.s.Close()
	return nil
}
