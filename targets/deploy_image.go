package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/transfer"
	"github.com/dtask-dev/dtask/targets/docker"
)

// deployImage makes sure the deploy engine has the image and returns its
// ID there (which, on an engine with the other image store, may not be its
// ID here). An image this machine's engine has goes to a remote engine only
// when the remote lacks it (sendImage); anything else is pulled by the
// engine that runs it.
func (a *deployAction) deployImage(ctx context.Context, target *docker.Client, deps map[string]engine.Outputs, progress func(string), out io.Writer) (string, error) {
	ref := a.d().Image
	want := recordedImageID(ref, deps) // the image a dep built, whatever ref names now
	if a.d().Host == "" {
		return ensureImage(ctx, target, ref, want, progress)
	}
	local, err := a.e.Docker(ctx)
	if err != nil {
		return ensureImage(ctx, target, ref, "", progress) // no engine here: let the host pull
	}
	var id string
	if want != "" {
		id, err = ensureImage(ctx, local, ref, want, progress)
	} else {
		id, err = imageID(ctx, local, ref)
	}
	if err != nil || id == "" {
		if err == nil {
			id, err = ensureImage(ctx, target, ref, "", progress)
		}
		return id, err
	}
	there, err := deployedID(ctx, local, target, id, ref)
	if err != nil {
		return "", err
	}
	if there == "" {
		if there, err = a.sendImage(ctx, local, target, id, ref, progress, out); err != nil {
			return "", err
		}
	}
	// Make the name point at this image there too, so the container shows it.
	if got, _ := imageID(ctx, target, ref); got != there && ref != there {
		if _, err := target.ImageTag(ctx, client.ImageTagOptions{Source: there, Target: ref}); err != nil {
			return "", fmt.Errorf("tagging %s on %s: %w", ref, a.d().Host, err)
		}
	}
	return there, nil
}

// sendImage gives the deploy engine image id of this machine's engine
// (local): only the layers it lacks when it can pull them, else the whole
// image. It returns the image's ID there, checked to be the same image.
func (a *deployAction) sendImage(ctx context.Context, local, target *docker.Client, id, ref string, progress func(string), out io.Writer) (string, error) {
	if a.pullMissingLayers(ctx, target, id, ref, progress, out) {
		return imageID(ctx, target, ref) // checked as it was pulled
	}
	progress(fmt.Sprintf("copying %s (%s) to %s", ref, buildShortID(id), a.d().Host))
	start := time.Now()
	n, err := copyImage(ctx, local, target, ref, progress)
	if err != nil {
		return "", fmt.Errorf("copying image %s to %s: %w", ref, a.d().Host, err)
	}
	if out != nil {
		fmt.Fprintln(out, transfer.Summary("copied", 1, "image", n, "to", a.d().Host, time.Since(start))+" ("+ref+")")
	}
	there, err := a.checkSent(ctx, local, target, id, ref)
	if err != nil {
		return "", fmt.Errorf("deploying image %s: %w", ref, err)
	}
	return there, nil
}

// checkSent returns the ID of the image ref names on the deploy engine
// (target) once it was sent there, and an error unless it is image id of
// this machine's engine (local).
func (a *deployAction) checkSent(ctx context.Context, local, target *docker.Client, id, ref string) (string, error) {
	there, err := imageID(ctx, target, ref)
	if err != nil {
		return "", err
	}
	same, err := sameImage(ctx, local, target, id, there)
	if err == nil && !same {
		err = fmt.Errorf("%s holds %s as %s, not image %s: refused", a.d().Host, ref, buildShortID(there), buildShortID(id))
	}
	return there, err
}

// deployedID is the ID under which the deploy engine (target) has image id
// of this machine's engine (local), or "" when it lacks it. An engine with
// the other image store, or the containerd one after a pull, names the
// image otherwise: there the image ref names (what the last deploy
// tagged) is compared by content.
func deployedID(ctx context.Context, local, target *docker.Client, id, ref string) (string, error) {
	if there, err := imageID(ctx, target, id); err != nil || there != "" {
		return there, err
	}
	there, err := imageID(ctx, target, ref)
	if err != nil || there == "" {
		return "", err
	}
	if same, err := sameImage(ctx, local, target, id, there); err != nil || !same {
		return "", err
	}
	return there, nil
}

// sameImage says whether image a of engine ea is image b of engine eb.
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
// its blobs (servedIDs) reports nothing of it: it then differs, and a
// deploy sends it again, which moves no layer.
func sameImage(ctx context.Context, ea, eb *docker.Client, a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	fa, err := imageContent(ctx, ea, a)
	if err != nil {
		return false, err
	}
	fb, err := imageContent(ctx, eb, b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(fa, fb), nil
}

// imageContent is what sameImage compares of an image, as JSON: empty and
// missing config fields read alike (omitempty), as engines report either.
func imageContent(ctx context.Context, cli *docker.Client, id string) ([]byte, error) {
	res, err := cli.ImageInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspecting image %s: %w", buildShortID(id), err)
	}
	return content(res.RootFS.Layers, res.Os, res.Architecture, res.Variant, res.Config)
}

// configContent is imageContent read from an image config.
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

// servedIDs checks that the image a registry serves as src (a reference
// by digest) is image id of this machine's engine, by its config (read by
// digest through config), as sameImage compares, and returns the IDs an
// engine that pulls src gives it: the manifest's digest (containerd image
// store) and the config's (classic store). The deploy engine's own report
// of a pulled image cannot be used for this: a containerd-store engine
// that already had a layer (from a blob compressed otherwise) does not
// fetch that blob, and then reports neither the config nor the layers of
// the image (Docker 28.5), though it runs it.
func (e *Env) servedIDs(ctx context.Context, config func(context.Context, string) (string, []byte, error), src, id string) ([]string, error) {
	local, err := e.Docker(ctx)
	if err != nil {
		return nil, err
	}
	want, err := imageContent(ctx, local, id)
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
		return nil, fmt.Errorf("%s is not image %s: refused", src, buildShortID(id))
	}
	_, m, _ := strings.Cut(src, "@")
	return []string{m, digest}, nil
}

// copyImage streams `docker save ref` from one engine into `docker load`
// on the other, without a temporary file, and returns the bytes sent.
func copyImage(ctx context.Context, from, to *docker.Client, ref string, progress func(string)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var total int64 // the image's size: about what the archive holds
	if img, err := from.ImageInspect(ctx, ref); err == nil {
		total = img.Size
	}
	save, err := from.ImageSave(ctx, []string{ref})
	if err != nil {
		return 0, fmt.Errorf("saving: %w", err)
	}
	defer save.Close()
	counted := &countingReader{r: save}
	stop := reportBytes(counted, total, progress)
	defer stop()
	load, err := to.ImageLoad(ctx, counted, client.ImageLoadWithQuiet(true))
	if err != nil {
		return counted.n.Load(), fmt.Errorf("loading: %w", err)
	}
	defer load.Close()
	return counted.n.Load(), loadResult(load)
}

// loadResult reads the engine's JSON messages for a load; an error among
// them (a truncated archive, say) fails the load.
func loadResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg jsonstream.Message
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if msg.Error != nil {
			return errors.New(strings.TrimSpace(msg.Error.Message))
		}
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// reportBytes reports the bytes sent so far, the rate and the time left
// once a second until stop.
func reportBytes(c *countingReader, total int64, progress func(string)) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				progress("copying image: " + transfer.Progress(c.n.Load(), total, time.Since(start)))
			}
		}
	}()
	return func() { close(done) }
}

// pullMissingLayers has the deploy engine pull image id of this machine's
// engine from the team cache, else through a tunnel to a registry on this
// machine: only the layers it lacks travel. What a registry serves is
// checked to be image id before the pull (servedIDs) and the pulled image
// to be what it serves. It is false when neither can be used, or a check
// fails (a forged team cache image); the caller then copies the whole
// image.
func (a *deployAction) pullMissingLayers(ctx context.Context, target *docker.Client, id, ref string, progress func(string), out io.Writer) bool {
	// Through the team cache only the missing layers travel; when the
	// deploy engine cannot reach it, through the tunnel.
	ok, err := a.e.deployViaTeam(ctx, target, id, ref, progress)
	if err == nil && ok {
		return true
	}
	if err != nil {
		progress(fmt.Sprintf("not through the remote cache: %v", err))
	}
	ok, err = a.e.deployViaTunnel(ctx, target, a.d().Host, id, ref, progress, out)
	if err == nil && ok {
		return true
	}
	if err != nil && out != nil {
		fmt.Fprintf(out, "note: copying the whole image to %s: %v\n", a.d().Host, err)
	}
	return false
}
