package fakedocker

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// normal is the one spelling of an image reference ("busybox" is
// "docker.io/library/busybox:latest"); IDs stay as they are.
func normal(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(n).String()
}

// AddImage makes the engine have an image named ref and returns its ID.
func (f *Engine) AddImage(ref string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addImage(ref)
}

func (f *Engine) addImage(ref string) string {
	id := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(normal(ref))))
	f.images[normal(ref)], f.images[id] = id, id
	return id
}

// ImageInspect describes a local image by name or ID.
func (f *Engine) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ImageInspect"); err != nil {
		return client.ImageInspectResult{}, err
	}
	id, ok := f.images[normal(ref)]
	if !ok {
		return client.ImageInspectResult{}, notFound("image", ref)
	}
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: id, RepoTags: f.tags(id)}}, nil
}

// tags lists the names of image id. The caller holds f.mu.
func (f *Engine) tags(id string) []string {
	var tags []string
	for ref, v := range f.images {
		if v == id && ref != id {
			tags = append(tags, ref)
		}
	}
	return tags
}

// ImageList lists every local image with its names.
func (f *Engine) ImageList(_ context.Context, _ client.ImageListOptions) (client.ImageListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ImageList"); err != nil {
		return client.ImageListResult{}, err
	}
	var res client.ImageListResult
	for ref, id := range f.images {
		if ref == id {
			res.Items = append(res.Items, image.Summary{ID: id, RepoTags: f.tags(id)})
		}
	}
	return res, nil
}

// ImageTag gives a local image another name.
func (f *Engine) ImageTag(_ context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ImageTag"); err != nil {
		return client.ImageTagResult{}, err
	}
	id, ok := f.images[normal(o.Source)]
	if !ok {
		return client.ImageTagResult{}, notFound("image", o.Source)
	}
	f.images[normal(o.Target)] = id
	return client.ImageTagResult{}, nil
}

// ImageRemove removes a name (or, by ID, the image and all its names).
func (f *Engine) ImageRemove(_ context.Context, ref string, _ client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ImageRemove"); err != nil {
		return client.ImageRemoveResult{}, err
	}
	id, ok := f.images[normal(ref)]
	if !ok {
		return client.ImageRemoveResult{}, notFound("image", ref)
	}
	delete(f.images, normal(ref))
	if normal(ref) == id || len(f.tags(id)) == 0 {
		for _, t := range f.tags(id) {
			delete(f.images, t)
		}
		delete(f.images, id)
	}
	return client.ImageRemoveResult{}, nil
}

// ImagePull fails as a registry without the image does; a test that
// needs a pull to succeed adds the image first.
func (f *Engine) ImagePull(_ context.Context, ref string, _ client.ImagePullOptions) (client.ImagePullResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ImagePull"); err != nil {
		return nil, err
	}
	if _, ok := f.images[normal(ref)]; !ok {
		return nil, notFound("image", ref+" in the registry")
	}
	return pulled{io.NopCloser(strings.NewReader(""))}, nil
}

// pulled is the progress stream of a pull that is already complete.
type pulled struct{ io.ReadCloser }

func (pulled) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(func(jsonstream.Message, error) bool) {}
}

func (pulled) Wait(context.Context) error { return nil }
