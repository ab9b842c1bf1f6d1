package remotecache

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/dtask-dev/dtask/internal/transfer"
)

// WriteImage saves image id from the engine into a temporary archive and
// pushes it as tag. go-containerregistry compresses each layer the same
// way on every machine and asks the registry before sending a blob, so a
// layer the repository has is never uploaded again. It returns the one
// line that says what was sent ("" when nothing was).
func (r *Registry) WriteImage(ctx context.Context, saver ImageSaver, id, tag string) (string, error) {
	if saver == nil {
		return "", r.wrap(fmt.Errorf("image %s: no engine to take it from", id))
	}
	start, up := time.Now(), &upload{}
	if err := r.writeImage(withUpload(ctx, up), saver, id, tag); err != nil {
		return "", err
	}
	if up.bytes.Load() == 0 {
		return "", nil
	}
	return transfer.Summary("pushed", int(up.blobs.Load()), "blob", up.bytes.Load(), "to", r.Name(), time.Since(start)) +
		" (image " + short(strings.TrimPrefix(id, "sha256:")) + ")", nil
}

func (r *Registry) writeImage(ctx context.Context, saver ImageSaver, id, tag string) error {
	f, err := os.CreateTemp("", "dtask-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = saver.SaveImage(ctx, id, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return r.wrap(fmt.Errorf("saving image %s: %w", short(id), err))
	}
	img, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		return r.wrap(fmt.Errorf("reading image %s: %w", short(id), err))
	}
	if err := remote.Write(r.repo.Tag(tag), img, r.with(ctx)...); err != nil {
		return r.wrap(fmt.Errorf("pushing image %s: %w", short(id), err))
	}
	return nil
}
