package deploy

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/dtask-dev/dtask/internal/remotecache"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// deployViaTunnel gives an ssh:// deploy engine image id without a team
// cache: a registry on this machine's loopback serves the image for this
// deploy only, and the deploy engine pulls it through a reverse tunnel of
// the ssh connection, fetching only the layers it lacks (a one-line change
// is one small layer, not the whole image again). ok is false when the
// host is not ssh:// or the tunnel cannot be set up; the caller then
// copies the whole image.
func deployViaTunnel(ctx context.Context, e *targets.Env, target *docker.Client, host, id, ref string, progress func(string), out io.Writer) (bool, error) {
	if !strings.HasPrefix(host, "ssh://") {
		return false, nil
	}
	dir, err := os.MkdirTemp("", "dtask-deploy-registry-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	srv := &http.Server{ReadHeaderTimeout: 30 * time.Second, Handler: registry.New(
		registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)), registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	src, also, err := serveImage(ctx, e, l.Addr().String()+"/dtask/deploy", id)
	if err != nil {
		return false, err
	}
	port, stop, err := docker.ReverseTunnel(ctx, host, l.Addr().String())
	if err != nil {
		return false, err
	}
	defer stop()
	src = fmt.Sprintf("127.0.0.1:%d/%s", port, strings.SplitN(src, "/", 2)[1])
	line, err := targets.PullByDigest(ctx, target, src, id, also, []string{ref}, host+" over ssh", "this machine over ssh", progress)
	if err != nil {
		return false, err
	}
	if out != nil {
		fmt.Fprintln(out, line)
	}
	return true, nil
}

// serveImage puts image id of this machine's engine in repo (a registry
// on loopback) and returns its reference by digest there, and the IDs an
// engine that pulls it gives it (ServedIDs).
func serveImage(ctx context.Context, e *targets.Env, repo, id string) (string, []string, error) {
	reg, err := remotecache.Open(remotecache.Config{Repo: repo, PlainHTTP: true, Mode: remotecache.ModeReadWrite})
	if err != nil {
		return "", nil, err
	}
	if _, err := reg.WriteImage(ctx, e, id, "deploy"); err != nil {
		return "", nil, err
	}
	d, ok, err := reg.Head(ctx, "deploy")
	if err == nil && !ok {
		err = fmt.Errorf("image %s missing from the deploy registry", targets.ShortID(id))
	}
	if err != nil {
		return "", nil, err
	}
	config := func(ctx context.Context, ref string) (string, []byte, error) { return reg.ImageConfig(ctx, d) }
	also, err := e.ServedIDs(ctx, config, reg.DigestRef(d), id)
	return reg.DigestRef(d), also, err
}
