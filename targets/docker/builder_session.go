package docker

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// SessionContext is the RemoteContext value that makes BuildKit read the
// build context from the build's session instead of an uploaded tar.
const SessionContext = "client-session"

// SessionOptions is what a build session serves to the builder.
type SessionOptions struct {
	// SharedKey names the context across builds: BuildKit keeps the last
	// copy of a context under it and asks only for what changed since, so
	// it must be the same for every build of one folder.
	SharedKey string
	// Secrets maps id -> value for `RUN --mount=type=secret,id=...`. The
	// values never leave this process except over the session to the
	// builder, which mounts them as tmpfs files.
	Secrets map[string][]byte
	// ContextDir and DockerfileDir, when set, are served as the build's
	// "context" and "dockerfile" folders, as the docker CLI and buildx do;
	// Excludes are context paths never sent, whatever the builder asks.
	ContextDir, DockerfileDir string
	Excludes                  []string
}

// BuildSession is a BuildKit session attached to the engine over
// POST /session; a build that names its ID reads its context and its
// secrets through it.
type BuildSession struct {
	s    *session.Session
	done chan error
}

// StartBuildSession opens a session serving what opts names.
func (c *Client) StartBuildSession(ctx context.Context, opts SessionOptions) (*BuildSession, error) {
	s, err := session.NewSession(ctx, opts.SharedKey)
	if err != nil {
		return nil, fmt.Errorf("starting build session: %w", err)
	}
	if len(opts.Secrets) > 0 {
		s.Allow(secretsprovider.FromMap(opts.Secrets))
	}
	if opts.ContextDir != "" {
		dirs, err := sessionDirs(opts)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("starting build session: %w", err)
		}
		s.Allow(filesync.NewFSSyncProvider(dirs))
	}
	dial := func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		return c.DialHijack(ctx, "/session", proto, meta)
	}
	bs := &BuildSession{s: s, done: make(chan error, 1)}
	go func() { bs.done <- s.Run(ctx, dial) }()
	return bs, nil
}

// sessionDirs serves the context with owner 0:0, as the docker CLI sends
// it, without the paths dtask never sends.
func sessionDirs(opts SessionOptions) (filesync.StaticDirSource, error) {
	ctxFS, err := fsutil.NewFS(opts.ContextDir)
	if err != nil {
		return nil, err
	}
	ctxFS, err = fsutil.NewFilterFS(ctxFS, &fsutil.FilterOpt{ExcludePatterns: opts.Excludes, Map: rootOwned})
	if err != nil {
		return nil, err
	}
	dfFS, err := fsutil.NewFS(opts.DockerfileDir)
	if err != nil {
		return nil, err
	}
	return filesync.StaticDirSource{"context": ctxFS, "dockerfile": dfFS}, nil
}

func rootOwned(_ string, st *fstypes.Stat) fsutil.MapResult {
	st.Uid, st.Gid = 0, 0
	return fsutil.MapResultKeep
}

// ID is what the build request passes as its session.
func (b *BuildSession) ID() string { return b.s.ID() }

// Close ends the session.
func (b *BuildSession) Close() error {
	b.s.Close()
	return nil
}
