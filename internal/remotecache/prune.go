package remotecache

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultKeep is how many records per target pruning keeps by default.
const DefaultKeep = 10

// ErrNoDelete says the registry does not allow deleting manifests.
var ErrNoDelete = errors.New("the registry does not support deleting manifests (set a retention policy there: see docs/team-cache.md)")

// Pruned is what Prune removed and kept.
type Pruned struct {
	Records, Images, Kept int
}

type recordTagInfo struct {
	digest, target, tag string
	time                time.Time
}

// Prune deletes records beyond the newest keep per target, and those older
// than maxAge (0: no limit), then the images no kept record names. Blobs
// are freed by the registry's own garbage collection.
func (r *Registry) Prune(ctx context.Context, keep int, maxAge time.Duration, now time.Time) (Pruned, error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	tags, err := remote.List(r.repo, r.with(ctx)...)
	if isNotFound(err) {
		return Pruned{}, nil
	}
	if err != nil {
		return Pruned{}, r.wrap(err)
	}
	byTarget := map[string][]recordTagInfo{}
	for _, tag := range tags {
		if !strings.HasPrefix(tag, "k-") {
			continue
		}
		info, err := r.recordInfo(ctx, tag)
		if err != nil {
			continue // not ours or damaged: leave it
		}
		byTarget[info.target] = append(byTarget[info.target], info)
	}
	var res Pruned
	used := map[string]bool{}
	for _, recs := range byTarget {
		sort.Slice(recs, func(i, j int) bool { return recs[i].time.After(recs[j].time) })
		for i, info := range recs {
			old := maxAge > 0 && now.Sub(info.time) > maxAge && i > 0
			if i < keep && !old {
				res.Kept++
				r.markImages(ctx, info.digest, used)
				continue
			}
			if err := r.delete(ctx, info.digest, info.tag); err != nil {
				return res, err
			}
			res.Records++
		}
	}
	n, err := r.pruneImages(ctx, tags, used)
	res.Images = n
	return res, err
}

// recordInfo reads a record manifest's annotations (no blob).
func (r *Registry) recordInfo(ctx context.Context, tag string) (recordTagInfo, error) {
	d, err := remote.Get(r.repo.Tag(tag), r.with(ctx)...)
	if err != nil {
		return recordTagInfo{}, err
	}
	var m ocispec.Manifest
	if err := unmarshal(d.Manifest, &m); err != nil || m.ArtifactType != ArtifactType {
		return recordTagInfo{}, fmt.Errorf("not a record")
	}
	t, _ := time.Parse(time.RFC3339, m.Annotations[annTime])
	return recordTagInfo{digest: d.Digest.String(), target: m.Annotations[annTarget], tag: tag, time: t}, nil
}

// markImages notes the images a kept record names.
func (r *Registry) markImages(ctx context.Context, digest string, used map[string]bool) {
	d, err := remote.Get(r.repo.Digest(digest), r.with(ctx)...)
	if err != nil {
		return
	}
	hit, err := r.readRecord(ctx, d.Manifest)
	if err != nil {
		return
	}
	for id := range hit.Images {
		used[ImageTag(id)] = true
	}
	for _, id := range ImagesOf(hit.Record) {
		used[ImageTag(id)] = true
	}
}

func (r *Registry) pruneImages(ctx context.Context, tags []string, used map[string]bool) (int, error) {
	n := 0
	for _, tag := range tags {
		if !strings.HasPrefix(tag, "img-") || used[tag] {
			continue
		}
		d, ok, err := r.Head(ctx, tag)
		if err != nil || !ok {
			continue
		}
		if err := r.delete(ctx, d, tag); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// delete removes a manifest by digest, which removes its tags in the
// distribution registry; registries that keep the tag then get the tag
// deleted too.
func (r *Registry) delete(ctx context.Context, digest, tag string) error {
	err := remote.Delete(r.repo.Digest(digest), r.with(ctx)...)
	if err == nil {
		if _, still, _ := r.Head(ctx, tag); still {
			_ = remote.Delete(r.repo.Tag(tag), r.with(ctx)...)
		}
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusMethodNotAllowed || hasCode(te, transport.UnsupportedErrorCode)) {
		return r.wrap(ErrNoDelete)
	}
	if err != nil && !isNotFound(err) {
		return r.wrap(err)
	}
	return nil
}

func hasCode(te *transport.Error, code transport.ErrorCode) bool {
	for _, e := range te.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}
