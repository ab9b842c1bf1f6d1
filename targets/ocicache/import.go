package ocicache

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// smallMember is the size up to which a member of a save archive is kept
// in memory (manifests, configs, index.json); larger ones are layers.
const smallMember = 4 << 20

// saveManifest is one entry of a docker save archive's manifest.json.
type saveManifest struct {
	Config string
	Layers []string
}

// archive is what Import took from a docker save stream.
type archive struct {
	small map[string][]byte         // member name -> content
	blobs map[string]v1.Descriptor  // member name -> stored blob (media type guessed)
	heads map[string][]byte         // member name -> first bytes
	links map[string]string         // member name -> the member it links to
	index *v1.IndexManifest         // index.json (Docker 25 and later)
	saved []saveManifest            // manifest.json
	byCfg map[v1.Hash]v1.Descriptor // config digest -> OCI manifest stored
}

// Import reads a docker save stream into the store and returns, for each
// image ID asked for, the descriptor of its manifest (or index) in the
// store. Layers the store has are read and dropped; new ones are written
// once. The stream's own OCI index (Docker 25 and later, and always on
// the containerd image store, where the image ID is that manifest's
// digest) is kept as is; an older engine's archive gets an OCI manifest
// made from manifest.json, with its layers uncompressed as saved.
func (s *Store) Import(r io.Reader, ids []string) (map[string]v1.Descriptor, error) {
	a := &archive{small: map[string][]byte{}, blobs: map[string]v1.Descriptor{}, heads: map[string][]byte{}, links: map[string]string{}}
	if err := s.readArchive(r, a); err != nil {
		return nil, err
	}
	if b, ok := a.small["manifest.json"]; ok {
		if err := json.Unmarshal(b, &a.saved); err != nil {
			return nil, fmt.Errorf("save archive: manifest.json: %w", err)
		}
	}
	out := map[string]v1.Descriptor{}
	for _, id := range ids {
		d, err := s.imageDesc(a, id)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", id, err)
		}
		out[id] = d
	}
	return out, nil
}

func (s *Store) readArchive(r io.Reader, a *archive) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading save archive: %w", err)
		}
		name := path.Clean(h.Name)
		if h.Typeflag == tar.TypeSymlink {
			// Docker before 25 saves a layer two images share once and
			// links the other's file to it.
			a.links[name] = path.Join(path.Dir(name), h.Linkname)
			continue
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size <= smallMember && !strings.HasSuffix(name, "layer.tar") {
			b, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("reading save archive: %w", err)
			}
			a.small[name] = b
			continue
		}
		d, head, err := s.storeMember(name, tr)
		if err != nil {
			return err
		}
		a.blobs[name], a.heads[name] = d, head
	}
}

// storeMember writes a large member as a blob, unless it is named by a
// digest the store has already.
func (s *Store) storeMember(name string, r io.Reader) (v1.Descriptor, []byte, error) {
	var want *v1.Hash
	if dir, hex, ok := strings.Cut(name, "blobs/sha256/"); ok && dir == "" {
		h := v1.Hash{Algorithm: "sha256", Hex: hex}
		if n, err := s.BlobSize(h); err == nil {
			head := make([]byte, 8)
			k, _ := io.ReadFull(r, head)
			if _, err := io.Copy(io.Discard, r); err != nil {
				return v1.Descriptor{}, nil, fmt.Errorf("reading save archive: %w", err)
			}
			return v1.Descriptor{Digest: h, Size: n}, head[:k], nil
		}
		want = &h
	}
	w, err := s.newBlob()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.abort()
		return v1.Descriptor{}, nil, fmt.Errorf("reading save archive: %w", err)
	}
	d, err := w.commit(want)
	return d, w.head, err
}

// member returns a member as a descriptor of a stored blob, storing a
// small one on the way.
func (s *Store) member(a *archive, name string) (v1.Descriptor, error) {
	name = a.resolve(name)
	if d, ok := a.blobs[name]; ok {
		return d, nil
	}
	b, ok := a.small[name]
	if !ok {
		return v1.Descriptor{}, fmt.Errorf("save archive lacks %s", name)
	}
	d, err := s.PutBytes(b)
	if err == nil {
		a.blobs[name], a.heads[name] = d, b[:min(len(b), 8)]
	}
	return d, err
}

// layerType tells a layer's media type from its first bytes.
func layerType(head []byte) types.MediaType {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return types.OCILayer
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return types.OCILayerZStd
	default:
		return types.OCIUncompressedLayer
	}
}

// resolve follows a member's links to the member holding its content.
func (a *archive) resolve(name string) string {
	name = path.Clean(name)
	for i := 0; i < 8 && a.links[name] != ""; i++ {
		name = a.links[name]
	}
	return name
}
