package targets

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// lostReply is an engine whose tag requests succeed but whose replies are
// lost, as when a save is stopped at exit while the request is in flight.
type lostReply struct{ *fakedocker.Engine }

func (l lostReply) ImageTag(ctx context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	if _, err := l.Engine.ImageTag(ctx, o); err != nil {
		return client.ImageTagResult{}, err
	}
	return client.ImageTagResult{}, context.Canceled
}

// TestPushLayersLeavesNoName: the name a save gives an image for its push
// to the loopback registry is removed on every path, also when the tag
// request failed after the engine had tagged (it outlives the registry
// and keeps the image).
func TestPushLayersLeavesNoName(t *testing.T) {
	for _, tc := range []struct {
		name string
		api  func(*fakedocker.Engine) docker.API
	}{
		{"tag reply lost", func(f *fakedocker.Engine) docker.API { return lostReply{f} }},
		{"push failed", func(f *fakedocker.Engine) docker.API { return f }}, // the fake has no push
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fakedocker.New()
			id := f.AddImage("example/app:test")
			e := &Env{Layers: ocicache.Open(t.TempDir(), nil)}
			defer e.FinishSaves(true)
			srv, err := e.LayerRegistry()
			if err != nil {
				t.Fatal(err)
			}
			cli := &docker.Client{API: tc.api(f), Host: "fake://engine", APIVersion: fakedocker.APIVersion}
			err = e.PushLayers(context.Background(), cli, map[string]string{"image.image": id})
			if err == nil {
				t.Fatal("PushLayers succeeded; want the injected failure")
			}
			if tc.name == "tag reply lost" && !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want the tag's", err)
			}
			if _, err := f.ImageInspect(context.Background(), srv.Ref("image.image")); err == nil {
				t.Errorf("the engine keeps %s after the save", srv.Ref("image.image"))
			}
			if _, err := f.ImageInspect(context.Background(), "example/app:test"); err != nil {
				t.Errorf("the image lost its own name: %v", err)
			}
		})
	}
}
