package ocicache

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

type member struct {
	name, link string
	body       []byte
}

func tarOf(t *testing.T, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.link != "" {
			h = &tar.Header{Name: m.name, Linkname: m.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.body)
	}
	tw.Close()
	return buf.Bytes()
}

// layerTar is a layer: a tar holding one file.
func layerTar(t *testing.T, content string) []byte {
	return tarOf(t, []member{{name: "f", body: []byte(content)}})
}

// A Docker 20.10 archive of two images sharing a layer, the second's copy
// a symlink to the first's, becomes two OCI manifests whose configs are the
// images' IDs, the shared layer stored once, uncompressed as saved.
func TestImportClassicArchive(t *testing.T) {
	shared, own := layerTar(t, "base"), layerTar(t, "own")
	cfg1 := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + digestOf(shared) + `"]}}`)
	cfg2 := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + digestOf(shared) + `","` + digestOf(own) + `"]}}`)
	id1, id2 := digestOf(cfg1), digestOf(cfg2)
	man, _ := json.Marshal([]saveManifest{
		{Config: id1[7:] + ".json", Layers: []string{"a/layer.tar"}},
		{Config: id2[7:] + ".json", Layers: []string{"b/layer.tar", "c/layer.tar"}},
	})
	arch := tarOf(t, []member{
		{name: "a/layer.tar", body: shared},
		{name: "b/layer.tar", link: "../a/layer.tar"},
		{name: "c/layer.tar", body: own},
		{name: id1[7:] + ".json", body: cfg1},
		{name: id2[7:] + ".json", body: cfg2},
		{name: "manifest.json", body: man},
	})
	s := Open(t.TempDir(), nil)
	got, err := s.Import(bytes.NewReader(arch), []string{id1, id2})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.ReadBlob(got[id2].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(mb))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest.String() != id2 || len(m.Layers) != 2 {
		t.Fatalf("manifest of %s: config %s, %d layers", id2, m.Config.Digest, len(m.Layers))
	}
	if m.Layers[0].Digest.String() != digestOf(shared) || m.Layers[0].MediaType != types.OCIUncompressedLayer {
		t.Errorf("shared layer stored as %s %s", m.Layers[0].Digest, m.Layers[0].MediaType)
	}
	blobs, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs", "sha256"))
	if len(blobs) != 6 { // 2 layers, 2 configs, 2 manifests
		t.Errorf("%d blobs stored, want 6", len(blobs))
	}
}

// An archive with an OCI index (Docker 25 and later) keeps the engine's
// own manifest, so that the image a pull makes has the ID it had.
func TestImportKeepsIndexManifest(t *testing.T) {
	layer := layerTar(t, "x")
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + digestOf(layer) + `"]}}`)
	mf, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: v1.Hash{Algorithm: "sha256", Hex: digestOf(cfg)[7:]}, Size: int64(len(cfg))},
		Layers: []v1.Descriptor{{MediaType: types.OCIUncompressedLayer, Digest: v1.Hash{Algorithm: "sha256", Hex: digestOf(layer)[7:]}, Size: int64(len(layer))}}})
	idx := []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digestOf(mf) + `","size":` + itoa(len(mf)) + `}]}`)
	arch := tarOf(t, []member{
		{name: "blobs/sha256/" + digestOf(layer)[7:], body: layer},
		{name: "blobs/sha256/" + digestOf(cfg)[7:], body: cfg},
		{name: "blobs/sha256/" + digestOf(mf)[7:], body: mf},
		{name: "index.json", body: idx},
	})
	s := Open(t.TempDir(), nil)
	for _, id := range []string{digestOf(mf), digestOf(cfg)} { // containerd store, classic store
		got, err := s.Import(bytes.NewReader(arch), []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if got[id].Digest.String() != digestOf(mf) {
			t.Errorf("image %s stored as %s, want the archive's manifest %s", id, got[id].Digest, digestOf(mf))
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The server hands what the store holds to a registry client; an entry
// whose blobs a partial restore lost is not offered.
func TestServeAndResolve(t *testing.T) {
	s := Open(t.TempDir(), nil)
	layer := layerTar(t, "served")
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + digestOf(layer) + `"]}}`)
	id := digestOf(cfg)
	man, _ := json.Marshal([]saveManifest{{Config: "c.json", Layers: []string{"l/layer.tar"}}})
	arch := tarOf(t, []member{{name: "l/layer.tar", body: layer}, {name: "c.json", body: cfg}, {name: "manifest.json", body: man}})
	got, err := s.Import(bytes.NewReader(arch), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	d := got[id]
	d.Annotations = map[string]string{AnnotationImageID: id}
	ctx := context.Background()
	if err := s.Tag(ctx, "app.latest", d); err != nil {
		t.Fatal(err)
	}
	srv, err := s.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get("http://" + srv.Host + "/v2/" + Repo + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return b
	}
	m, err := v1.ParseManifest(bytes.NewReader(get("/manifests/app.latest")))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest.String() != id {
		t.Errorf("served config %s, want %s", m.Config.Digest, id)
	}
	if body := get("/blobs/" + m.Layers[0].Digest.String()); !bytes.Equal(body, layer) {
		t.Error("served layer differs from the saved one")
	}
	if _, ok := s.ByImageID(id); !ok {
		t.Fatal("ByImageID misses a complete entry")
	}
	os.Remove(filepath.Join(s.Dir(), "blobs", "sha256", digestOf(layer)[7:]))
	if _, ok := s.Resolve("app.latest"); ok {
		t.Error("an entry with a missing layer resolves")
	}
}
