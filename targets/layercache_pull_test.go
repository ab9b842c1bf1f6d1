package targets

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// pullRecorder is an engine whose pulls succeed (the pulled name then
// exists) and which notes whether each removal was bounded in time.
type pullRecorder struct {
	*fakedocker.Engine
	mu      sync.Mutex
	bounded map[string]bool // ref removed -> its context had a deadline
}

func (p *pullRecorder) ImagePull(ctx context.Context, ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
	p.AddImage(ref)
	return p.Engine.ImagePull(ctx, ref, o)
}

func (p *pullRecorder) ImageRemove(ctx context.Context, ref string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	_, ok := ctx.Deadline()
	p.mu.Lock()
	p.bounded[ref] = ok
	p.mu.Unlock()
	return p.Engine.ImageRemove(ctx, ref, o)
}

// storeManifest saves the blobs of a one-layer image in s, not yet an
// entry, and returns the manifest's descriptor.
func storeManifest(t *testing.T, s *ocicache.Store) v1.Descriptor {
	t.Helper()
	cfg, err := s.PutBytes([]byte(`{"architecture":"amd64","os":"linux"}`))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := s.PutBytes([]byte("a layer"))
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfg.Digest, Size: cfg.Size},
		Layers: []v1.Descriptor{{MediaType: types.OCIUncompressedLayer, Digest: layer.Digest, Size: layer.Size}}}
	b, _ := json.Marshal(m)
	d, err := s.PutBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	d.MediaType = types.OCIManifestSchema1
	return d
}

// TestPullLayersRemovalIsBounded: the name a restore pulls by is removed
// after the run's context may be gone, and under a deadline, so that an
// engine that stops answering cannot hold dtask's exit.
func TestPullLayersRemovalIsBounded(t *testing.T) {
	e := &Env{Layers: ocicache.Open(t.TempDir(), nil)}
	defer e.FinishSaves(true)
	srv, err := e.LayerRegistry()
	if err != nil {
		t.Fatal(err)
	}
	f := &pullRecorder{Engine: fakedocker.New(), bounded: map[string]bool{}}
	d := storeManifest(t, e.Layers)
	src := srv.DigestRef(d.Digest)
	// The fake names an image by a hash of its name: ask another fake for
	// the ID the pull will give.
	id := fakedocker.New().AddImage(src)
	d.Annotations = map[string]string{ocicache.AnnotationImageID: id}
	if err := e.Layers.Tag(context.Background(), "app.image", d); err != nil {
		t.Fatal(err)
	}
	cli := &docker.Client{API: f, Host: "fake://engine", APIVersion: fakedocker.APIVersion}
	ok, err := e.PullLayers(context.Background(), cli, id, []string{"example/app:test"}, nil)
	if err != nil || !ok {
		t.Fatalf("PullLayers = %v, %v; want a restore", ok, err)
	}
	bounded, removed := f.bounded[src]
	if !removed {
		t.Fatalf("the pulled name %s was not removed (removals %v)", src, f.bounded)
	}
	if !bounded {
		t.Error("the pulled name was removed under a context without a deadline: a hung engine holds dtask's exit")
	}
}
