package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/image"

	"github.com/dtask-dev/dtask/targets/docker"
)

// An image's identity across engines: what a deploy, and a pull from the
// team cache or the deploy registry, checks it got.

// SameImage says whether image a of engine ea is image b of engine eb.
// Their IDs cannot say it: a classic engine's image ID is the digest of
// the image config, a containerd-store engine's the digest of the manifest
// (or index) it holds, and the team cache and the deploy registry compress
// layers anew, so a containerd-store engine that pulled an image never has
// the manifest, nor the ID, it had here; no engine API tells the config
// digest of a containerd-store image. So the content is compared: the
// layers' diff IDs (digests of their uncompressed content, which every
// engine checks as it unpacks a layer, whatever the compression) and the
// configuration a container gets from the image. This holds on both
// stores. A containerd-store engine that pulled an image without some of
// its blobs (ServedIDs) reports nothing of it: it then differs, and a
// deploy sends it again, which moves no layer.
func SameImage(ctx context.Context, ea, eb *docker.Client, a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	fa, err := ImageContent(ctx, ea, a)
	if err != nil {
		return false, err
	}
	fb, err := ImageContent(ctx, eb, b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(fa, fb), nil
}

// ImageContent is what SameImage compares of an image, as JSON: empty and
// missing config fields read alike (omitempty), as engines report either.
func ImageContent(ctx context.Context, cli *docker.Client, id string) ([]byte, error) {
	res, err := cli.ImageInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspecting image %s: %w", ShortID(id), err)
	}
	return content(res.RootFS.Layers, res.Os, res.Architecture, res.Variant, res.Config)
}

// configContent is ImageContent read from an image config.
func configContent(raw []byte) ([]byte, error) {
	var c struct {
		OS      string `json:"os"`
		Arch    string `json:"architecture"`
		Variant string `json:"variant"`
		RootFS  struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		Config json.RawMessage `json:"config"`
	}
	var res image.InspectResponse // its Config is what engines report
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("reading an image config: %w", err)
	}
	if len(c.Config) > 0 {
		if err := json.Unmarshal(c.Config, &res.Config); err != nil {
			return nil, fmt.Errorf("reading an image config: %w", err)
		}
	}
	return content(c.RootFS.DiffIDs, c.OS, c.Arch, c.Variant, res.Config)
}

func content(layers []string, os, arch, variant string, config any) ([]byte, error) {
	return json.Marshal(struct {
		Layers            []string
		OS, Arch, Variant string
		Config            any
	}{layers, os, arch, variant, config})
}

// ServedIDs checks that the image a registry serves as src (a reference
// by digest) is image id of this machine's engine, by its config (read by
// digest through config), as SameImage compares, and returns the IDs an
// engine that pulls src gives it: the manifest's digest (containerd image
// store) and the config's (classic store). The deploy engine's own report
// of a pulled image cannot be used for this: a containerd-store engine
// that already had a layer (from a blob compressed otherwise) does not
// fetch that blob, and then reports neither the config nor the layers of
// the image (Docker 28.5), though it runs it.
func (e *Env) ServedIDs(ctx context.Context, config func(context.Context, string) (string, []byte, error), src, id string) ([]string, error) {
	local, err := e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	want, err := ImageContent(ctx, local, id)
	if err != nil {
		return nil, err
	}
	digest, raw, err := config(ctx, src)
	if err != nil {
		return nil, err
	}
	got, err := configContent(raw)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("%s is not image %s: refused", src, ShortID(id))
	}
	_, m, _ := strings.Cut(src, "@")
	return []string{m, digest}, nil
}
