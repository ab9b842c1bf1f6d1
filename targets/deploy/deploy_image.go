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
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// deployImage makes sure the deploy engine has the image and returns its
// ID there. An image this machine's engine has is copied to a remote engine
// (docker save | docker load, streamed), but only when the remote lacks
// that image ID; anything else is pulled by the engine that runs it.
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
	there, err := targets.ImageID(ctx, target, id)
	if err != nil {
		return "", err
	}
	if there == "" {
		if ok, err := a.pullMissingLayers(ctx, target, id, ref, progress, out); err != nil || ok {
			return id, err
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
	}
	// Make the name point at this ID there too, so the container shows it.
	if got, _ := targets.ImageID(ctx, target, ref); got != id && ref != id {
		if _, err := target.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref}); err != nil {
			return "", fmt.Errorf("tagging %s on %s: %w", ref, a.d().Host, err)
		}
	}
	return id, nil
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

// pullMissingLayers has the deploy engine pull image id from the team
// cache, else through a tunnel to a registry on this machine: only the
// layers it lacks travel. ok is false when neither can be used; the caller
// then copies the whole image. An engine with the containerd image store
// would name the pulled image by the registry's manifest, which is not the
// source's (the layers are compressed anew), so the deployed ID could not
// be checked there: it gets the whole image, whose ID it keeps.
func (a *deployAction) pullMissingLayers(ctx context.Context, target *docker.Client, id, ref string, progress func(string), out io.Writer) (bool, error) {
	if res, err := target.Info(ctx, client.InfoOptions{}); err == nil && imagecache.DetectStore(res.Info) == imagecache.StoreContainerd {
		return false, nil
	}
	// Through the team cache only the missing layers travel; when the
	// deploy engine cannot reach it, through the tunnel.
	if ok, err := a.e.DeployViaTeam(ctx, target, id, ref, progress); err == nil && ok {
		return true, nil
	} else if err != nil {
		progress(fmt.Sprintf("not through the remote cache: %v", err))
	}
	if ok, err := deployViaTunnel(ctx, a.e, target, a.d().Host, id, ref, progress, out); err == nil && ok {
		return true, nil
	} else if err != nil && out != nil {
		fmt.Fprintf(out, "note: copying the whole image to %s: %v\n", a.d().Host, err)
	}
	return false, nil
}
