package remotecache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dtask-dev/dtask/engine/cache"
)

// A record is an OCI artifact: an empty config, the record as JSON and,
// when there is one, the masked end of the target's log. It is tagged
// k-KEY, and t-TARGET tags the target's newest.
const (
	ArtifactType    = "application/vnd.dtask.record.v1"
	recordMediaType = "application/vnd.dtask.record.v1+json"
	logMediaType    = "application/vnd.dtask.log.v1+text"
	emptyMediaType  = "application/vnd.oci.empty.v1+json"
	// Annotations on a record's manifest, so that pruning reads no blob.
	annTarget = "dev.dtask.target"
	annKey    = "dev.dtask.key"
	annTime   = "org.opencontainers.image.created"
	// maxRecord bounds what a lookup reads: a record is small.
	maxRecord = 16 << 20
)

// payload is the record blob: the record, and the manifest digest in the
// repository of each image its outputs name, so that the image pulled is
// the one the publisher pushed.
type payload struct {
	Record *cache.Record     `json:"record"`
	Images map[string]string `json:"images,omitempty"`
}

// Hit is a record found in the team cache, verified.
type Hit struct {
	Record *cache.Record
	Images map[string]string // image ID -> manifest digest
}

// GetRecord fetches and verifies the record for key. ok is false on a miss;
// a record that fails verification is an error (the caller warns and
// treats it as a miss).
func (r *Registry) GetRecord(ctx context.Context, key string) (Hit, bool, error) {
	return r.recordAt(ctx, recordTag(key), func(rec *cache.Record) error {
		if rec.Key != key {
			return fmt.Errorf("it holds key %s", short(rec.Key))
		}
		return nil
	}, func(err error) error { return &refusedError{reg: r.Name(), key: key, err: err} })
}

// Latest fetches the newest record published for target.
func (r *Registry) Latest(ctx context.Context, target string) (Hit, bool, error) {
	return r.recordAt(ctx, latestTag(target), func(rec *cache.Record) error {
		if rec.Target != target {
			return fmt.Errorf("the latest record of %s is %s's", target, rec.Target)
		}
		return nil
	}, r.wrap)
}

// recordAt fetches the record tag names. ok is false when the tag is
// missing; a fault of the registry is wrapped as one, and a record that
// cannot be read or that want refuses is an error made by refuse.
func (r *Registry) recordAt(ctx context.Context, tag string, want func(*cache.Record) error, refuse func(error) error) (Hit, bool, error) {
	d, err := remote.Get(r.repo.Tag(tag), r.with(ctx)...)
	if isNotFound(err) {
		return Hit{}, false, nil
	}
	if err != nil {
		return Hit{}, false, r.wrap(err)
	}
	hit, err := r.readRecord(ctx, d.Manifest)
	if err == nil {
		err = want(hit.Record)
	}
	if err != nil {
		return Hit{}, false, refuse(err)
	}
	return hit, true, nil
}

// readRecord parses a record manifest and reads its record blob, which
// go-containerregistry checks against its digest as it reads.
func (r *Registry) readRecord(ctx context.Context, manifest []byte) (Hit, error) {
	var m ocispec.Manifest
	if err := unmarshal(manifest, &m); err != nil {
		return Hit{}, fmt.Errorf("not a record manifest: %w", err)
	}
	var blob *ocispec.Descriptor
	for i := range m.Layers {
		if m.Layers[i].MediaType == recordMediaType {
			blob = &m.Layers[i]
		}
	}
	if m.ArtifactType != ArtifactType || blob == nil || blob.Size > maxRecord {
		return Hit{}, fmt.Errorf("not a dtask record")
	}
	h, err := parseHash(blob.Digest.String())
	if err != nil {
		return Hit{}, err
	}
	l, err := remote.Layer(r.repo.Digest(h.String()), r.with(ctx)...)
	if err != nil {
		return Hit{}, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return Hit{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
	if err != nil {
		return Hit{}, fmt.Errorf("reading the record: %w", err)
	}
	if int64(len(data)) != blob.Size {
		return Hit{}, fmt.Errorf("record blob is %d bytes, the manifest says %d", len(data), blob.Size)
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil || p.Record == nil {
		return Hit{}, fmt.Errorf("damaged record")
	}
	for id, d := range p.Images {
		if _, err := parseHash(d); err != nil || ImageTag(id) == "" {
			return Hit{}, fmt.Errorf("damaged record: image %q at %q", id, d)
		}
	}
	return Hit{Record: p.Record, Images: p.Images}, nil
}

// PutRecord publishes rec (and its log) under its key and as its target's
// newest. Blobs the repository has are not sent again.
func (r *Registry) PutRecord(ctx context.Context, rec *cache.Record, images map[string]string) error {
	body, err := json.Marshal(payload{Record: rec, Images: images})
	if err != nil {
		return err
	}
	blobs := []v1.Layer{static.NewLayer([]byte("{}"), emptyMediaType), static.NewLayer(body, recordMediaType)}
	if rec.Log != "" {
		blobs = append(blobs, static.NewLayer([]byte(rec.Log), logMediaType))
	}
	descs := make([]ocispec.Descriptor, len(blobs))
	for i, b := range blobs {
		if err := remote.WriteLayer(r.repo, b, r.with(ctx)...); err != nil {
			return r.wrap(err)
		}
		d, _ := b.Digest()
		sz, _ := b.Size()
		mt, _ := b.MediaType()
		descs[i] = ocispec.Descriptor{MediaType: string(mt), Digest: digest.Digest(d.String()), Size: sz}
	}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       descs[0],
		Layers:       descs[1:],
		Annotations: map[string]string{
			annTarget: rec.Target, annKey: rec.Key, annTime: rec.Time.UTC().Format(time.RFC3339),
		},
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	for _, tag := range []string{recordTag(rec.Key), latestTag(rec.Target)} {
		if err := remote.Put(r.repo.Tag(tag), rawManifest(raw), r.with(ctx)...); err != nil {
			return r.wrap(err)
		}
	}
	return nil
}

// rawManifest is a manifest to PUT as it is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error) { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// ImagesOf lists the image IDs rec's outputs name, which must travel with
// it: a build's image.
func ImagesOf(rec *cache.Record) []string {
	var ids []string
	for _, k := range slices.Sorted(maps.Keys(rec.Outputs)) {
		v := rec.Outputs[k]
		if (k == "image" || k == "id") && ImageTag(v) != "" && !slices.Contains(ids, v) {
			ids = append(ids, v)
		}
	}
	return ids
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// refusedError is a record that failed verification: a miss, never trusted.
type refusedError struct {
	reg, key string
	err      error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("remote cache %s: record %s refused: %v", e.reg, short(e.key), e.err)
}
func (e *refusedError) Unwrap() error { return e.err }

func unmarshal(b []byte, m *ocispec.Manifest) error { return json.Unmarshal(b, m) }
