package ocicache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imageDesc finds image id in the archive: an entry of its index.json
// whose digest is id (containerd store) or whose config is id (classic
// store), else the manifest.json entry whose config is id.
func (s *Store) imageDesc(a *archive, id string) (v1.Descriptor, error) {
	want, err := v1.NewHash(id)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if d, ok, err := s.fromIndex(a, want); ok || err != nil {
		return d, err
	}
	for _, m := range a.saved {
		cfg, err := s.member(a, m.Config)
		if err != nil {
			return v1.Descriptor{}, err
		}
		if cfg.Digest == want {
			return s.manifestFor(a, m, cfg)
		}
	}
	return v1.Descriptor{}, errors.New("not in the save archive")
}

// fromIndex looks for the image among the archive's OCI index entries.
func (s *Store) fromIndex(a *archive, want v1.Hash) (v1.Descriptor, bool, error) {
	b, ok := a.small["index.json"]
	if !ok {
		return v1.Descriptor{}, false, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("save archive: index.json: %w", err)
	}
	for _, d := range idx.Manifests {
		if d.Digest == want {
			return s.storedEntry(a, d)
		}
		if !d.MediaType.IsImage() {
			continue
		}
		raw, err := s.member(a, blobName(d.Digest))
		if err != nil {
			return v1.Descriptor{}, false, err
		}
		mb, err := s.ReadBlob(raw.Digest)
		if err != nil {
			return v1.Descriptor{}, false, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(mb))
		if err == nil && m.Config.Digest == want {
			return s.storedEntry(a, d)
		}
	}
	return v1.Descriptor{}, false, nil
}

// storedEntry stores the manifest or index d and every blob under it
// that the archive holds, and returns d without the archive's names.
func (s *Store) storedEntry(a *archive, d v1.Descriptor) (v1.Descriptor, bool, error) {
	if _, err := s.member(a, blobName(d.Digest)); err != nil {
		return v1.Descriptor{}, false, err
	}
	mb, err := s.ReadBlob(d.Digest)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	if d.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(mb))
		if err != nil {
			return v1.Descriptor{}, false, err
		}
		for _, c := range im.Manifests {
			if _, ok := a.small[blobName(c.Digest)]; !ok {
				continue // left out of the save (another platform, an attestation)
			}
			if _, _, err := s.storedEntry(a, c); err != nil {
				return v1.Descriptor{}, false, err
			}
		}
	} else {
		m, err := v1.ParseManifest(bytes.NewReader(mb))
		if err != nil {
			return v1.Descriptor{}, false, err
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if _, err := s.member(a, blobName(l.Digest)); err != nil {
				return v1.Descriptor{}, false, err
			}
		}
	}
	return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, true, nil
}

func blobName(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }

// manifestFor makes an OCI manifest for an archive without an index
// (Docker before 25): the config as saved, so that the image ID stays
// the same when an engine pulls it, and the layers as saved.
func (s *Store) manifestFor(a *archive, m saveManifest, cfg v1.Descriptor) (v1.Descriptor, error) {
	man := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfg.Digest, Size: cfg.Size},
	}
	for _, name := range m.Layers {
		l, err := s.member(a, name)
		if err != nil {
			return v1.Descriptor{}, err
		}
		man.Layers = append(man.Layers, v1.Descriptor{MediaType: layerType(a.heads[a.resolve(name)]), Digest: l.Digest, Size: l.Size})
	}
	b, err := json.Marshal(man)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := s.PutBytes(b)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d.MediaType = types.OCIManifestSchema1
	return d, nil
}
