package push

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// pushAction tags an image and pushes the tags.
type pushAction struct {
	e *targets.Env
	t *taskfile.Target
}

// New is the push action of target t.
func New(e *targets.Env, t *taskfile.Target) engine.Action {
	return &pushAction{e: e, t: t}
}

func (a *pushAction) Kind() string { return "push" }

func (a *pushAction) Plan(ctx context.Context, p *engine.Plan) error {
	p.Def("push", a.t.Push)
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return err
	}
	return targets.PlanImage(ctx, p, cli, "push", a.t.Push.Image)
}

// Check asks the registry whether each tag still points at the digest the
// record holds (one HEAD-like request per tag, made by the engine). When
// the registry cannot be asked, the record is trusted: pushing is
// idempotent, and a run that cannot reach the registry would fail anyway.
func (a *pushAction) Check(ctx context.Context, rec *engine.Record) (bool, string, error) {
	var pushed targets.PushOutput
	if rec != nil {
		pushed = targets.PushOutputOf(rec.Outputs)
	}
	if pushed.Digest == "" {
		return false, "no pushed digest recorded", nil
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return false, "", err
	}
	for _, tag := range a.t.Push.Tags {
		want := pushed.DigestOf(tag)
		auth, err := a.auth(ctx, tag)
		if err != nil {
			return true, "", nil
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		got, err := remoteDigest(cctx, cli, tag, auth)
		cancel()
		switch {
		case err != nil && isNotFound(err):
			return false, fmt.Sprintf("tag %s is not in the registry", tag), nil
		case err != nil:
			continue
		case got != want:
			return false, fmt.Sprintf("tag %s in the registry is %s, not the pushed %s", tag, got, want), nil
		}
	}
	return true, "", nil
}

func (a *pushAction) Run(ctx context.Context, x *engine.Exec) (engine.Outputs, error) {
	progress := x.Progress
	if progress == nil {
		progress = func(string) {}
	}
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	src := a.t.Push.Image
	// A cached build's image may be in the image cache only; the ID the
	// build recorded is the one pushed, whatever src names now.
	id, err := targets.EnsureImage(ctx, cli, src, targets.RecordedImageID(src, x.Deps), progress)
	if err != nil {
		return nil, err
	}
	img, err := cli.ImageInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", src, err)
	}
	outs := targets.PushOutput{ImageID: img.ID, Digests: map[string]string{}}
	for _, tag := range a.t.Push.Tags {
		named, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", tag, err)
		}
		named = reference.TagNameOnly(named)
		ref := reference.FamiliarString(named)
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: img.ID, Target: ref}); err != nil {
			return nil, fmt.Errorf("tagging %s as %s: %w", src, ref, err)
		}
		ac, err := a.authConfig(ctx, ref)
		if err != nil {
			return nil, err
		}
		digest, err := a.pushTag(ctx, cli, ref, named.Name(), img.RepoDigests, ac, progress)
		if err != nil {
			return nil, err
		}
		if outs.Digest == "" {
			outs.Digest = digest
		}
		outs.Digests[tag] = digest
		outs.Tags = append(outs.Tags, ref)
	}
	return outs.Outputs(), nil
}

// pushTag pushes ref unless the registry already has it at a digest this
// image was pushed as (the engine's RepoDigests), and returns the digest.
func (a *pushAction) pushTag(ctx context.Context, cli *docker.Client, ref, repo string, repoDigests []string, ac registry.AuthConfig, progress func(string)) (string, error) {
	auth, err := registryauth.Encode(ac)
	if err != nil {
		return "", err
	}
	if d, err := remoteDigest(ctx, cli, ref, auth); err == nil && d != "" {
		for _, rd := range repoDigests {
			n, err := reference.ParseNormalizedNamed(rd)
			if c, ok := n.(reference.Canonical); err == nil && ok && n.Name() == repo && c.Digest().String() == d {
				progress(ref + ": already in the registry (" + d + ")")
				return d, nil
			}
		}
	}
	progress("pushing " + ref)
	digest, err := streamPush(ctx, cli, ref, auth, progress)
	if err != nil || digest != "" {
		return digest, err
	}
	// No digest in the stream (the containerd image store sends none): the
	// registry knows what the tag now points at.
	return registryDigest(ctx, ref, ac)
}

// streamPush pushes ref through the engine, shows its progress and returns
// the digest the engine reported ("" when it sent none).
func streamPush(ctx context.Context, cli *docker.Client, ref, auth string, progress func(string)) (string, error) {
	resp, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	defer resp.Close()
	var digest string
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return "", fmt.Errorf("pushing %s: %w", ref, err)
		}
		if msg.Error != nil {
			return "", fmt.Errorf("pushing %s: %s", ref, msg.Error.Message)
		}
		if msg.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		if line := pushLine(msg.ID, msg.Status, msg.Progress); line != "" {
			progress(ref + ": " + line)
		}
	}
	return digest, nil
}
