package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/internal/transfer"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// deployImage makes sure the deploy engine has the image and returns its
// ID there (which, on an engine with the other image store, may not be its
// ID here). An image this machine's engine has goes to a remote engine only
// when the remote lacks it (sendImage); anything else is pulled by the
// engine that runs it.
func (a *deployAction) deployImage(ctx context.Context, target *docker.Client, deps map[string]engine.Outputs, progress func(string), out io.Writer) (string, error) {
	ref := a.d().Image
	want := targets.RecordedImageID(ref, deps) // the image a dep built, whatever ref names now
	if a.d().Host == "" {
		return targets.EnsureImage(ctx, target, ref, want, progress)
	}
	local, err := a.e.Docker(ctx)
	if err != nil {
		return targets.EnsureImage(ctx, target, ref, "", progress) // no engine here: let the host pull
	}
	var id string
	if want != "" {
		id, err = targets.EnsureImage(ctx, local, ref, want, progress)
	} else {
		id, err = targets.ImageID(ctx, local, ref)
	}
	if err != nil || id == "" {
		if err == nil {
			id, err = targets.EnsureImage(ctx, target, ref, "", progress)
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
	if got, _ := targets.ImageID(ctx, target, ref); got != there && ref != there {
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
		return targets.ImageID(ctx, target, ref) // checked as it was pulled
	}
	progress(fmt.Sprintf("copying %s (%s) to %s", ref, targets.ShortID(id), a.d().Host))
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
	there, err := targets.ImageID(ctx, target, ref)
	if err != nil {
		return "", err
	}
	same, err := targets.SameImage(ctx, local, target, id, there)
	if err == nil && !same {
		err = fmt.Errorf("%s holds %s as %s, not image %s: refused", a.d().Host, ref, targets.ShortID(there), targets.ShortID(id))
	}
	return there, err
}

// deployedID is the ID under which the deploy engine (target) has image id
// of this machine's engine (local), or "" when it lacks it. An engine with
// the other image store, or the containerd one after a pull, names the
// image otherwise: there the image ref names (what the last deploy
// tagged) is compared by content.
func deployedID(ctx context.Context, local, target *docker.Client, id, ref string) (string, error) {
	if there, err := targets.ImageID(ctx, target, id); err != nil || there != "" {
		return there, err
	}
	there, err := targets.ImageID(ctx, target, ref)
	if err != nil || there == "" {
		return "", err
	}
	if same, err := targets.SameImage(ctx, local, target, id, there); err != nil || !same {
		return "", err
	}
	return there, nil
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
// checked to be image id before the pull (ServedIDs) and the pulled image
// to be what it serves. It is false when neither can be used, or a check
// fails (a forged team cache image); the caller then copies the whole
// image.
func (a *deployAction) pullMissingLayers(ctx context.Context, target *docker.Client, id, ref string, progress func(string), out io.Writer) bool {
	// Through the team cache only the missing layers travel; when the
	// deploy engine cannot reach it, through the tunnel.
	ok, err := a.e.DeployViaTeam(ctx, target, id, ref, progress)
	if err == nil && ok {
		return true
	}
	if err != nil {
		progress(fmt.Sprintf("not through the remote cache: %v", err))
	}
	ok, err = deployViaTunnel(ctx, a.e, target, a.d().Host, id, ref, progress, out)
	if err == nil && ok {
		return true
	}
	if err != nil && out != nil {
		fmt.Fprintf(out, "note: copying the whole image to %s: %v\n", a.d().Host, err)
	}
	return false
}
