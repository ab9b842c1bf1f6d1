package remotecache

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// mixedSaver saves an image as the containerd image store does: the first
// layer uncompressed, the second gzip-compressed.
type mixedSaver struct{ layers [][]byte }

func (m mixedSaver) SaveImage(_ context.Context, _ string, w io.Writer) error {
	var files []string
	var diffIDs []string
	tw := tar.NewWriter(w)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	for i, l := range m.layers {
		diffIDs = append(diffIDs, fmt.Sprintf("sha256:%x", sha256.Sum256(l)))
		blob := l
		if i > 0 {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(l)
			zw.Close()
			blob = gz.Bytes()
		}
		files = append(files, fmt.Sprintf("blobs/sha256/%x", sha256.Sum256(blob)))
		add(files[i], blob)
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cfgName := fmt.Sprintf("blobs/sha256/%x", sha256.Sum256(cfg))
	add(cfgName, cfg)
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "Layers": files}})
	add("manifest.json", manifest)
	return tw.Close()
}

// tarWith is a layer holding one file.
func tarWith(t *testing.T, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	return b.Bytes()
}

// TestMixedCompressionArchive: an archive whose first layer is
// uncompressed and second gzip (go-containerregistry alone judges all
// layers by the first) is pushed with every layer compressed once: each
// pulled layer decompresses to its tar.
func TestMixedCompressionArchive(t *testing.T) {
	repo, _ := testRegistry(t)
	reg, err := Open(Config{Repo: repo, PlainHTTP: true, Mode: ModeReadWrite})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base.txt", "app.txt"}
	saver := mixedSaver{layers: [][]byte{tarWith(t, want[0], "base"), tarWith(t, want[1], "app")}}
	if _, err := reg.WriteImage(context.Background(), saver, "sha256:mixed", "img-mixed"); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(repo+":img-mixed", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != len(want) {
		t.Fatalf("%d layers pushed, want %d", len(layers), len(want))
	}
	for i, l := range layers {
		h, err := tar.NewReader(bytes.NewReader(readAll(t, l.Uncompressed))).Next()
		if err != nil || h.Name != want[i] {
			t.Errorf("layer %d: %v %v, want a tar holding %s", i, h, err, want[i])
		}
	}
}
