package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/dtask-dev/dtask/targets/ocicache"
)

// writeFakeEntry puts an entry with one inline member in the image cache,
// as a save would, so the utility commands can be tested without an engine.
func writeFakeEntry(t *testing.T, dir, hex, ref string, used time.Time) {
	t.Helper()
	entries := filepath.Join(dir, ".dtask", "images", "entries")
	os.MkdirAll(entries, 0o755)
	e := map[string]any{"id": "sha256:" + hex, "refs": []string{ref}, "kind": "build", "target": "image",
		"members": []map[string]any{{"name": "manifest.json", "type": '0', "mode": 0o644, "size": 2, "data": []byte("[]")}},
		"saved":   used}
	b, _ := json.Marshal(e)
	p := filepath.Join(entries, hex+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, used, used)
}

func TestCacheCommands(t *testing.T) {
	dir := t.TempDir()
	// cache_dir keeps the images beside the records (the default would
	// be the user's cache folder).
	os.WriteFile(filepath.Join(dir, "Taskfile.toml"), []byte("version = 1\ncache_dir = \".dtask\"\n[cache]\nmax_size = \"5GB\"\n[targets.cache]\nsh = \"echo target named cache\"\n"), 0o644)
	old := strings.Repeat("a", 64)
	recent := strings.Repeat("b", 64)
	writeFakeEntry(t, dir, old, "shop:old", time.Now().Add(-72*time.Hour))
	writeFakeEntry(t, dir, recent, "shop:new", time.Now())
	dtask := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-f", filepath.Join(dir, "Taskfile.toml")}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}

	out, code := dtask("--cache", "list")
	if code != 0 || !strings.Contains(out, "shop:new") || !strings.Contains(out, "3 days ago") || !strings.Contains(out, "budget 5 GB") {
		t.Fatalf("list (%d):\n%s", code, out)
	}
	if strings.Index(out, "shop:new") > strings.Index(out, "shop:old") {
		t.Errorf("list is not most recently used first:\n%s", out)
	}
	// A budget that fits one entry drops the least recently used one.
	out, code = dtask("--cache", "prune", "--max-size", "300B")
	if code != 0 || !strings.Contains(out, "removed aaaaaaaaaaaa shop:old") || strings.Contains(out, "shop:new") {
		t.Fatalf("prune (%d):\n%s", code, out)
	}
	if out, _ = dtask("--cache", "list"); strings.Contains(out, "shop:old") || !strings.Contains(out, "shop:new") {
		t.Errorf("after prune:\n%s", out)
	}
	if out, code = dtask("--cache", "prune", "--max-size", "lots"); code != 2 {
		t.Errorf("bad --max-size: exit %d\n%s", code, out)
	}
	if out, code = dtask("--cache", "clear"); code != 0 || !strings.Contains(out, "cleared") {
		t.Fatalf("clear (%d):\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".dtask", "images")); !os.IsNotExist(err) {
		t.Error("clear left the image cache")
	}
	// The utility does not take the name away from a target.
	if out, code = dtask("--output", "plain", "cache"); code != 0 || !strings.Contains(out, "target named cache") {
		t.Errorf("dtask cache (%d):\n%s", code, out)
	}
}

// layoutImage stores a one-layer image of size bytes in the layout under
// ref, its blobs old enough to be collected.
func layoutImage(t *testing.T, s *ocicache.Store, ref string, size int) {
	t.Helper()
	layer := bytes.Repeat([]byte(ref[:1]), size)
	l, err := s.PutBytes(layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.PutBytes([]byte(`{"ref":"` + ref + `"}`))
	m, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfg.Digest, Size: cfg.Size},
		Layers: []v1.Descriptor{{MediaType: types.OCIUncompressedLayer, Digest: l.Digest, Size: l.Size}}})
	d, _ := s.PutBytes(m)
	d.MediaType = types.OCIManifestSchema1
	if err := s.Tag(context.Background(), ref, d); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, h := range []v1.Hash{l.Digest, cfg.Digest, d.Digest} {
		os.Chtimes(filepath.Join(s.Dir(), "blobs", h.Algorithm, h.Hex), old, old)
	}
}

// --cache prune keeps the build cache layout within the same budget,
// dropping its least recently used entries and their blobs.
func TestCachePruneCoversLayout(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Taskfile.toml"), []byte("version = 1\ncache_dir = \".dtask\"\n[targets.t]\nsh = \"true\"\n"), 0o644)
	s := ocicache.Open(filepath.Join(dir, ".dtask", "layout"), nil)
	layoutImage(t, s, "old.latest", 4000)
	layoutImage(t, s, "new.latest", 4000)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-f", filepath.Join(dir, "Taskfile.toml"), "--cache", "prune", "--max-size", "6000B"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "removed old.latest") || strings.Contains(out.String(), "removed new.latest") {
		t.Fatalf("prune (%d):\n%s%s", code, out.String(), errb.String())
	}
	if _, ok := s.Resolve("old.latest"); ok {
		t.Error("old.latest is still in the layout")
	}
	if _, ok := s.Resolve("new.latest"); !ok {
		t.Error("new.latest lost its blobs")
	}
}
