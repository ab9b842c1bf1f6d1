package remotecache

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestSameLayerSameBlobFromEveryEngine: two machines save images sharing
// a 1 MB layer, compressed differently (as engines with the containerd
// image store save the blobs they hold); the second push finds the layer
// in the registry under the same digest and does not send it again.
func TestSameLayerSameBlobFromEveryEngine(t *testing.T) {
	repo, _ := testRegistry(t)
	shared, err := random.Layer(1<<20, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	content := readAll(t, shared.Uncompressed)
	compressed := func(level int) v1.Layer {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(content)), nil
		}, tarball.WithCompressionLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	fast, best := compressed(gzip.BestSpeed), compressed(gzip.BestCompression)
	if df, _ := fast.Digest(); func() bool { db, _ := best.Digest(); return db == df }() {
		t.Fatal("the two compressions gave the same blob: the test proves nothing")
	}
	small, _ := random.Layer(256, types.DockerLayer)
	imgA, _ := mutate.AppendLayers(empty.Image, fast)
	imgB, _ := mutate.AppendLayers(empty.Image, best, small)
	pusher := &fakePusher{images: map[string]v1.Image{}}
	var ids []string
	for _, img := range []v1.Image{imgA, imgB} {
		cfg, _ := img.ConfigName()
		pusher.images[cfg.String()] = img
		ids = append(ids, cfg.String())
	}

	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, pusher, &w)
	a.Put(testRecord("image", key('a'), map[string]string{"image": ids[0]}))
	a.Wait()
	b, _ := newTier(t, repo, ModeReadWrite, pusher, &w)
	b.Put(testRecord("image", key('b'), map[string]string{"image": ids[1]}))
	b.Wait()
	if sent := b.Registry().Sent(); sent > 256<<10 {
		t.Fatalf("the second machine sent %d bytes: the shared 1 MB layer went again", sent)
	}
	first := func(id string) v1.Hash {
		ref, ok := b.ImageRef(context.Background(), id)
		if !ok {
			t.Fatalf("image %s not in the registry", id)
		}
		r, _ := name.ParseReference(ref, name.Insecure)
		img, err := remote.Image(r)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := img.Manifest()
		return m.Layers[0].Digest
	}
	if da, db := first(ids[0]), first(ids[1]); da != db {
		t.Fatalf("the shared layer is %s in one image and %s in the other", da, db)
	}
	// The image ID (the config) is the one the engine saved.
	ref, _ := b.ImageRef(context.Background(), ids[1])
	r, _ := name.ParseReference(ref, name.Insecure)
	img, _ := remote.Image(r)
	if cfg, _ := img.ConfigName(); cfg.String() != ids[1] {
		t.Fatalf("pushed config %s, want the saved image's %s", cfg, ids[1])
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
