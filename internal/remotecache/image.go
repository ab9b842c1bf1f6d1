package remotecache

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

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
	saved, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		return r.wrap(fmt.Errorf("reading image %s: %w", short(id), err))
	}
	layers, err := savedLayers(f.Name(), saved)
	if err != nil {
		return r.wrap(fmt.Errorf("reading image %s: %w", short(id), err))
	}
	img, err := partial.UncompressedToImage(canonical{saved, layers})
	if err != nil {
		return r.wrap(fmt.Errorf("reading image %s: %w", short(id), err))
	}
	if err := remote.Write(r.repo.Tag(tag), img, r.with(ctx)...); err != nil {
		return r.wrap(fmt.Errorf("pushing image %s: %w", short(id), err))
	}
	return nil
}

// canonical is a saved image whose layers go-containerregistry compresses
// from their content, whatever form the engine saved them in: the classic
// image store saves them uncompressed, the containerd one as it holds them
// (compressed by whichever builder or registry made them). The same layer
// then has the same blob digest from every engine, and the registry never
// receives it twice. The config, and so the image ID, is the saved one.
type canonical struct {
	saved  v1.Image
	layers map[v1.Hash]v1.Layer // by diff ID, each opened on its own
}

func (c canonical) RawConfigFile() ([]byte, error) { return c.saved.RawConfigFile() }

func (c canonical) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

func (c canonical) LayerByDiffID(h v1.Hash) (partial.UncompressedLayer, error) {
	l, ok := c.layers[h]
	if !ok {
		return nil, fmt.Errorf("no layer with diff ID %s in the saved image", h)
	}
	return gzipLayer{l}, nil
}

// gzipLayer offers only a layer's content; partial compresses it (gzip).
type gzipLayer struct{ l v1.Layer }

func (g gzipLayer) DiffID() (v1.Hash, error)             { return g.l.DiffID() }
func (g gzipLayer) Uncompressed() (io.ReadCloser, error) { return g.l.Uncompressed() }
func (g gzipLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }

// savedLayers opens each layer of a saved archive on its own, by diff ID.
// go-containerregistry's tarball image judges every layer by the first
// one (compressed or not), but the containerd image store saves layers as
// it holds them: an uncompressed base layer followed by gzip ones was read
// as all uncompressed, and the gzip layers were pushed compressed twice
// (the engine pulling them failed with "invalid tar header").
func savedLayers(path string, saved v1.Image) (map[v1.Hash]v1.Layer, error) {
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, err
	}
	cfg, err := saved.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("the archive holds %d images, want one whose layers match its config", len(manifest))
	}
	layers := map[v1.Hash]v1.Layer{}
	for i, file := range manifest[0].Layers {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return openInTar(path, file) })
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", file, err)
		}
		layers[cfg.RootFS.DiffIDs[i]] = l
	}
	return layers, nil
}

// openInTar opens the file name inside the tar archive at path.
func openInTar(path, name string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			if err == io.EOF {
				err = fmt.Errorf("%s: not in the archive", name)
			}
			return nil, err
		}
		if pathpkg.Clean(h.Name) == pathpkg.Clean(name) {
			return struct {
				io.Reader
				io.Closer
			}{tr, f}, nil
		}
	}
}
