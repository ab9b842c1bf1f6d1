package targets

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/internal/transfer"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// TeamCache is the team cache (an OCI registry) as the Docker actions see
// it: where it holds an image, as a reference the engine pulls by digest.
type TeamCache interface {
	ImageRef(ctx context.Context, id string) (ref string, ok bool)
	// CacheFrom names images of target's last published build and of its
	// named stages, as cache sources for building it again.
	CacheFrom(ctx context.Context, target string, stages []string) []string
	// PublishStage keeps a stage's image as that stage's newest.
	PublishStage(target, stage, id string)
	// EnsureImage makes the team cache hold an image of this machine's
	// engine (pushing only missing layers) and returns its reference.
	EnsureImage(ctx context.Context, id string) (ref string, err error)
	// Report prints a finished transfer's summary line in every output.
	Report(line string)
	// ImageConfig returns the config of the image ref (from ImageRef or
	// EnsureImage) names, and its digest, both checked.
	ImageConfig(ctx context.Context, ref string) (config string, raw []byte, err error)
}

// UseTeamCache makes the run take images it lacks from t (nil: none).
func (e *Env) UseTeamCache(t TeamCache) {
	e.Team = t
}

// teamEnv returns the Env with a team cache whose engine cli is, or nil.
func teamEnv(cli *docker.Client) *Env {
	if e := ownerEnv(cli); e != nil && e.Team != nil {
		return e
	}
	return nil
}

// TeamHas reports whether the team cache holds image id.
func (e *Env) TeamHas(ctx context.Context, id string) bool {
	if e.Team == nil {
		return false
	}
	_, ok := e.Team.ImageRef(ctx, id)
	return ok
}

// PullFromTeam makes the engine have image id, pulled by digest from the
// team cache (the engine fetches only the layers it lacks), named ref
// when ref is not empty. ok is false when the team cache lacks it. The
// pulled image must be id: a registry that serves other content is an
// error, never used.
func (e *Env) PullFromTeam(ctx context.Context, cli *docker.Client, id string, refs []string, progress func(string)) (bool, error) {
	src, ok := e.Team.ImageRef(ctx, id)
	if !ok {
		return false, nil
	}
	line, err := PullByDigest(ctx, cli, src, id, nil, refs, "the remote cache", repoOf(src), progress)
	if err != nil {
		return false, err
	}
	e.Team.Report(line)
	return true, nil
}

// PullByDigest makes the engine pull image id from src (a reference by
// digest in a registry; from names it in messages, where in the summary):
// the engine fetches only the layers it lacks. The pulled image must be
// id, or have one of the IDs in also when also is not nil (what src was
// checked to serve: ServedIDs). It names the image refs and returns the
// pull's summary line.
func PullByDigest(ctx context.Context, cli *docker.Client, src, id string, also, refs []string, from, where string, progress func(string)) (string, error) {
	if progress == nil {
		progress = func(string) {}
	}
	start := time.Now()
	progress("pulling " + ShortID(id) + " from " + from)
	ac := pullAuth(ctx, src)
	auth, _ := registryauth.Encode(ac)
	resp, err := cli.ImagePull(ctx, src, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pulling %s from %s: %w", ShortID(id), from, err)
	}
	got := &transferCount{}
	for msg, err := range resp.JSONMessages(ctx) {
		if err == nil && msg.Error != nil {
			err = fmt.Errorf("%s", msg.Error.Message)
		}
		if err != nil {
			resp.Close()
			return "", fmt.Errorf("pulling %s from %s: %w", ShortID(id), from, err)
		}
		got.add(msg.ID, msg.Status, msg.Progress)
		progress(fmt.Sprintf("pulling %s from %s: %s", ShortID(id), from, got.line(start)))
	}
	resp.Close()
	got.sizeFromManifest(ctx, src, ac)
	line := transfer.Summary("pulled", len(got.layers), "layer", got.bytes(), "from", where, time.Since(start)) +
		" (image " + ShortID(id) + ")"
	have, err := cli.ImageID(ctx, src)
	if err != nil || !pulledImage(have, id, src, also) {
		return "", fmt.Errorf("%s served %s for image %s: refused", from, ShortID(have), ShortID(id))
	}
	for _, ref := range refs {
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: have, Target: ref}); err != nil {
			return "", fmt.Errorf("tagging %s as %s: %w", ShortID(id), ref, err)
		}
	}
	// The digest reference is dtask's own bookkeeping: drop it when a name
	// keeps the image (removing the only one would remove the image).
	if len(refs) > 0 {
		_, _ = cli.ImageRemove(ctx, src, client.ImageRemoveOptions{})
	}
	return line, nil
}

// pulledImage says whether the image an engine pulled from src (a
// reference by digest) is image id. An engine with the classic store
// names it by its config, which must be id; one with the containerd image
// store names it by the manifest, which differs from the source's (the
// team cache compresses layers its own way) but is the digest src names,
// which the engine checked while pulling. With also (the IDs src was
// checked to serve, whatever store made id), those are the ones.
func pulledImage(have, id, src string, also []string) bool {
	if have == id || slices.Contains(also, have) {
		return true
	}
	_, digest, ok := strings.Cut(src, "@")
	return also == nil && ok && have == digest
}

// repoOf is ref without its digest or tag: the repository it names.
func repoOf(ref string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// DeployViaTeam gives a deploy engine image id through the team cache:
// pushed there from this engine if missing, then pulled by the deploy
// engine, so that only the layers it lacks travel (a one-line change is
// one small layer). What the team cache serves for id is checked against
// this engine's image first (ServedIDs): a forged or stale one is an
// error. ok is false when there is no team cache to use.
func (e *Env) DeployViaTeam(ctx context.Context, target *docker.Client, id, ref string, progress func(string)) (bool, error) {
	if e.Team == nil {
		return false, nil
	}
	src, err := e.Team.EnsureImage(ctx, id)
	if err != nil {
		progress(fmt.Sprintf("not through the remote cache: %v", err))
		return false, nil
	}
	also, err := e.ServedIDs(ctx, e.Team.ImageConfig, src, id)
	if err != nil {
		return false, err
	}
	line, err := PullByDigest(ctx, target, src, id, also, []string{ref}, "the remote cache", repoOf(src), progress)
	if err != nil {
		return false, err
	}
	e.Team.Report(line)
	return true, nil
}

// SaveImage writes image id as a docker-save archive, for the team cache
// to push (remotecache.ImageSaver).
func (e *Env) SaveImage(ctx context.Context, id string, w io.Writer) error {
	cli, err := e.Docker(ctx)
	if err != nil {
		return err
	}
	rc, err := cli.ImageSave(ctx, []string{id})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// transferCount sums the layers a push or pull moved, from the engine's
// progress messages (layers already there move nothing).
type transferCount struct {
	layers map[string]int64
	totals map[string]int64
}

func (c *transferCount) add(id, status string, p *jsonstream.Progress) {
	if id == "" {
		return
	}
	if c.layers == nil {
		c.layers, c.totals = map[string]int64{}, map[string]int64{}
	}
	switch {
	case (status == "Pushing" || status == "Downloading") && p != nil && p.Current > 0:
		c.layers[id] = max(c.layers[id], p.Current)
		if p.Total > 0 {
			c.totals[id] = p.Total
		}
	case status == "Download complete" || status == "Pushed":
		// Progress messages are throttled: the last one seen is short of
		// the end. A layer that was never moving (already there) is absent.
		if total, moved := c.totals[id]; moved {
			c.layers[id] = total
		} else if status == "Download complete" {
			// A quick pull (the containerd image store's, from a loopback
			// registry) may send no progress at all: the size comes from
			// the manifest (sizeFromManifest).
			c.layers[id] = max(c.layers[id], 0)
		}
	}
}

// sizeFromManifest fills in the sizes of layers a pull moved without
// saying how much, from the manifest src names. A manifest that cannot be
// read leaves them at what was seen.
func (c *transferCount) sizeFromManifest(ctx context.Context, src string, ac registry.AuthConfig) {
	unsized := false
	for id, n := range c.layers {
		unsized = unsized || n == 0 && c.totals[id] == 0
	}
	if !unsized {
		return
	}
	ref, err := name.ParseReference(src)
	if err != nil {
		return
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuth(registryauth.Authenticator(ac)))
	if err != nil {
		return
	}
	m, err := img.Manifest()
	if err != nil {
		return
	}
	for _, l := range m.Layers {
		id := l.Digest.Hex[:min(12, len(l.Digest.Hex))]
		if n, ok := c.layers[id]; ok && n == 0 {
			c.layers[id] = l.Size
		}
	}
}

// pullAuth is the credentials for the registry of src, if any are configured.
func pullAuth(ctx context.Context, src string) registry.AuthConfig {
	host, err := registryauth.Host(src)
	if err != nil {
		return registry.AuthConfig{}
	}
	ac, err := registryauth.ForHost(ctx, host)
	if err != nil {
		return registry.AuthConfig{}
	}
	return ac
}

func (c *transferCount) bytes() int64 {
	var n int64
	for _, v := range c.layers {
		n += v
	}
	return n
}

// line is the pull's progress: bytes, rate and time left.
func (c *transferCount) line(start time.Time) string {
	var total int64
	for _, v := range c.totals {
		total += v
	}
	return transfer.Progress(c.bytes(), total, time.Since(start))
}
