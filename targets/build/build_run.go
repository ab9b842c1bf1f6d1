package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/buildctx"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// OCI annotation keys dtask sets on every image it builds.
const (
	labelRevision = "org.opencontainers.image.revision"
	labelCreated  = "org.opencontainers.image.created"
	labelSource   = "org.opencontainers.image.source"
)

// Run sends the context Plan hashed to the engine's builder, streams its
// output as readable lines and returns the image ID and tags. With an
// image cache, images it keeps are loaded first as cache sources, and the
// image, its stages and FROM images are saved after.
func (a *buildAction) Run(ctx context.Context, x *engine.Exec) (engine.Outputs, error) {
	a.e.PrefetchBuildInfo() // for the labels, while the caches are prepared
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	c, err := a.loadContext(false)
	if err != nil {
		return nil, err
	}
	buildkit, note, err := a.builder(ctx, c)
	if err != nil {
		return nil, err
	}
	if note != "" {
		fmt.Fprintln(x.Stdout, note)
	}
	bc, bl, buildkit := a.caches(ctx, cli, c, buildkit, x)
	defer bc.cleanup(ctx, cli)
	opts, err := a.options(c, buildkit)
	if err != nil {
		return nil, err
	}
	bc.apply(&opts)
	bl.apply(&opts)
	a.teamCacheFrom(ctx, &opts, buildkit, bc)
	tags := a.tags()
	steps := &stageSteps{}
	id, err := a.send(ctx, cli, c, opts, buildkit, io.MultiWriter(x.Stdout, steps), x.Progress)
	if err != nil {
		return nil, err
	}
	if id, err = builtID(ctx, cli, id, tags); err != nil {
		return nil, err
	}
	if bc != nil {
		bc.tagStages(ctx, cli, c, opts, x, steps)
		bc.save(ctx, cli, id, tags, x)
		a.publishStages(ctx, cli, bc)
	}
	if bl != nil {
		bl.save(c, opts, id, steps, cli)
	}
	return targets.BuildOutput{ImageID: id, Tags: tags}.Outputs(), nil
}

// caches prepares the layer cache (BuildKit builds) or else the image
// cache, whose builder may differ; nil for one that does not apply.
func (a *buildAction) caches(ctx context.Context, cli *docker.Client, c *buildctx.Context, buildkit bool, x *engine.Exec) (*buildCache, *buildLayers, bool) {
	if buildkit {
		if bl := a.prepareLayers(ctx, cli, c, x); bl != nil {
			return nil, bl, buildkit
		}
	}
	bc := a.prepareCache(ctx, cli, c, buildkit, x)
	if bc != nil {
		buildkit = bc.builder.BuildKit
	}
	return bc, nil, buildkit
}

// builtID is the image the build made: the ID the engine reported, else
// the image its first tag names.
func builtID(ctx context.Context, cli *docker.Client, id string, tags []string) (string, error) {
	var err error
	if id == "" && len(tags) > 0 {
		if id, err = cli.ImageID(ctx, tags[0]); err != nil {
			return "", err
		}
	}
	if id == "" {
		return "", errors.New("the engine reported no image ID")
	}
	return id, nil
}

// send runs one build request and returns the image ID the engine reported.
// BuildKit reads the context through a session, as the docker CLI and
// buildx have it do: it keeps the last copy of the folder and asks only
// for the files that changed, where an uploaded tar is sent whole and
// unpacked again on every build. The classic builder takes the tar.
func (a *buildAction) send(ctx context.Context, cli *docker.Client, c *buildctx.Context, opts client.ImageBuildOptions, buildkit bool, stdout io.Writer, progress func(string)) (string, error) {
	var body io.Reader
	var stream *buildctx.Stream
	var closers []func() error
	closeAll := func() {
		for _, f := range slices.Backward(closers) {
			_ = f()
		}
	}
	if buildkit {
		sess, err := a.session(ctx, cli, c)
		if err != nil {
			return "", err
		}
		closers = append(closers, sess.Close)
		opts.SessionID, opts.RemoteContext = sess.ID(), docker.SessionContext
		opts.Dockerfile = filepath.Base(c.Dockerfile)
	} else {
		stream = c.Tar(false)
		closers = append(closers, stream.Close)
		body = stream
	}
	res, err := cli.ImageBuild(ctx, body, opts)
	if err != nil {
		err = a.sendError(stream, err)
		closeAll()
		return "", err
	}
	closers = append(closers, res.Body.Close)
	r := &buildReader{body: res.Body, closeAll: closeAll, early: buildkit && len(opts.Tags) > 0, stdout: stdout, progress: progress}
	id, detached, err := r.read()
	if err != nil {
		err = a.sendError(stream, err)
	}
	if !detached {
		closeAll()
	}
	return id, err
}

// sendError prefers the reason the tar could not be written (a file that
// vanished) over the broken request it caused.
func (a *buildAction) sendError(body *buildctx.Stream, err error) error {
	if body != nil {
		if terr := body.Err(); terr != nil {
			return terr
		}
	}
	var be *docker.BuildError
	if errors.As(err, &be) {
		return fmt.Errorf("build failed at %w", err)
	}
	return fmt.Errorf("build: %w", err)
}

func (a *buildAction) options(c *buildctx.Context, buildkit bool) (client.ImageBuildOptions, error) {
	opts := client.ImageBuildOptions{
		Tags:        a.tags(),
		Dockerfile:  c.Name,
		Target:      a.b.Target,
		CacheFrom:   a.b.CacheFrom,
		Labels:      a.labels(buildkit),
		Remove:      true,
		ForceRemove: true, // no intermediate containers left by a failed step
		Version:     build.BuilderV1,
	}
	if buildkit {
		opts.Version = build.BuilderBuildKit
	}
	if len(a.b.Args) > 0 {
		opts.BuildArgs = map[string]*string{}
		for k, v := range a.b.Args {
			opts.BuildArgs[k] = &v
		}
	}
	if a.b.Platform != "" {
		p, err := parsePlatform(a.b.Platform)
		if err != nil {
			return opts, err
		}
		opts.Platforms = []ocispec.Platform{p}
	}
	return opts, nil
}

// labels are the user's labels over dtask's OCI ones. created is the build
// time and so is kept out of the key. The classic builder turns every label
// into a step of its own that commits a layer (a third of a second each),
// so there created is left out: it is also in the image's own metadata.
func (a *buildAction) labels(buildkit bool) map[string]string {
	l := map[string]string{}
	if buildkit {
		l[labelCreated] = time.Now().UTC().Format(time.RFC3339)
	}
	rev, src := a.e.BuildInfo()
	if rev != "" {
		l[labelRevision] = rev
	}
	if src != "" {
		l[labelSource] = src
	}
	maps.Copy(l, a.b.Labels)
	return l
}

func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// session serves the build's context and its secrets to
// RUN --mount=type=secret,id=NAME. Its shared key is the context folder's
// (hashed), so that the next build of the folder sends only what changed.
func (a *buildAction) session(ctx context.Context, cli *docker.Client, c *buildctx.Context) (*docker.BuildSession, error) {
	vals, err := a.secretValues()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(c.Dir))
	sess, err := cli.StartBuildSession(ctx, docker.SessionOptions{
		SharedKey:     "dtask-" + hex.EncodeToString(sum[:8]),
		Secrets:       vals,
		ContextDir:    c.Dir,
		DockerfileDir: filepath.Dir(c.Dockerfile),
		Excludes:      c.Excludes,
	})
	if err != nil {
		return nil, fmt.Errorf("build of %s: %w", a.t.Name, err)
	}
	return sess, nil
}

// secretValues reads the build's secrets (id -> value).
func (a *buildAction) secretValues() (map[string][]byte, error) {
	if len(a.b.Secrets) == 0 {
		return nil, nil
	}
	if a.e.Secret == nil {
		return nil, errors.New("build secrets need the [secrets] table, which this run has not loaded")
	}
	vals := map[string][]byte{}
	for _, name := range a.b.Secrets {
		v, err := a.e.Secret(name)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		if a.e.Mask != nil {
			a.e.Mask(v)
		}
		vals[name] = []byte(v)
	}
	return vals, nil
}
