package ocicache

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pruneImage stores an image of the given layers under ref.
func pruneImage(t *testing.T, s *Store, ref string, layers ...[]byte) v1.Descriptor {
	t.Helper()
	cfg, err := s.PutBytes([]byte(`{"ref":"` + ref + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfg.Digest, Size: cfg.Size}}
	for _, l := range layers {
		d, err := s.PutBytes(l)
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCIUncompressedLayer, Digest: d.Digest, Size: d.Size})
	}
	b, _ := json.Marshal(m)
	d, err := s.PutBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	d.MediaType = types.OCIManifestSchema1
	if err := s.Tag(context.Background(), ref, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// ageBlobs makes every blob old enough to be collected.
func ageBlobs(t *testing.T, s *Store) {
	old := time.Now().Add(-2 * youngBlob)
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs", "sha256"))
	for _, e := range ents {
		os.Chtimes(filepath.Join(s.Dir(), "blobs", "sha256", e.Name()), old, old)
	}
}

// The layout keeps to its budget by dropping the least recently used
// entries; a layer a kept entry shares stays, the dropped entries' own
// layers go, and so do blobs no entry names (once they are old).
func TestPruneLeastRecentlyUsed(t *testing.T) {
	s := Open(t.TempDir(), nil)
	ctx := context.Background()
	shared := make([]byte, 1000)
	big := func(c byte) []byte { b := make([]byte, 3000); b[0] = c; return b }
	pruneImage(t, s, "a.latest", shared, big('a'))
	pruneImage(t, s, "b.latest", shared, big('b'))
	pruneImage(t, s, "c.latest", shared, big('c'))
	orphan, _ := s.PutBytes([]byte("no entry names me"))
	// a is used again: b is now the least recently used.
	if err := s.Touch(ctx, "a.latest"); err != nil {
		t.Fatal(err)
	}
	ageBlobs(t, s)

	got, err := s.Prune(ctx, 9000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Dropped, []string{"b.latest"}) || got.Size > 9000 {
		t.Fatalf("pruned %+v, want b.latest dropped and at most 9000 bytes", got)
	}
	for _, ref := range []string{"a.latest", "c.latest"} {
		if _, ok := s.Resolve(ref); !ok {
			t.Errorf("%s lost its blobs", ref)
		}
	}
	if _, ok := s.Resolve("b.latest"); ok {
		t.Error("b.latest still resolves")
	}
	if _, err := s.BlobSize(orphan.Digest); err == nil {
		t.Error("a blob no entry names was kept")
	}
	if got.Blobs < 4 { // b's layer, config and manifest, the orphan
		t.Errorf("removed %d blobs, want at least 4", got.Blobs)
	}
}

// A blob no entry names yet is kept while young: a save in another
// process may be about to name it.
func TestPruneKeepsYoungBlobs(t *testing.T) {
	s := Open(t.TempDir(), nil)
	pruneImage(t, s, "a.latest", []byte("layer"))
	young, _ := s.PutBytes([]byte("being saved"))
	if _, err := s.Prune(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlobSize(young.Digest); err != nil {
		t.Error("a young blob was removed")
	}
}
