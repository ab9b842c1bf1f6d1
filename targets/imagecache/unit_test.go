package imagecache

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10GB": 10e9, "5gb": 5e9, "500MB": 500e6, "2GiB": 2 << 30, "1024": 1024, " 1.5 KB": 1500} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GB", "10 parsecs", "-1GB", "99999999999999999999GB", "9300000TB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestDetectStore(t *testing.T) {
	classic := system.Info{Driver: "overlay2", DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}}
	ctrd := system.Info{Driver: "overlayfs", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}}
	if got := DetectStore(classic); got != StoreClassic {
		t.Errorf("overlay2: %s", got)
	}
	if got := DetectStore(ctrd); got != StoreContainerd {
		t.Errorf("containerd snapshotter: %s", got)
	}
}

func TestChooseBuilder(t *testing.T) {
	cases := []struct {
		store                   string
		buildkit, forced, needs bool
		want                    Builder
	}{
		// Classic store: the builder chosen stays, BuildKit gets inline cache.
		{StoreClassic, true, false, false, Builder{BuildKit: true, Inline: true, SkipShared: true}},
		{StoreClassic, false, false, false, Builder{SkipShared: true}},
		// Containerd store: loaded images are no BuildKit cache source, so
		// fall back to the classic builder unless BuildKit is required.
		{StoreContainerd, true, false, false, Builder{}},
		{StoreContainerd, true, true, false, Builder{BuildKit: true, Inline: true}},
		{StoreContainerd, true, false, true, Builder{BuildKit: true, Inline: true}},
		{StoreContainerd, false, false, false, Builder{}},
	}
	for _, c := range cases {
		got := ChooseBuilder(c.store, c.buildkit, c.forced, c.needs)
		if got.Note == "" || !strings.Contains(got.Note, c.store) {
			t.Errorf("%+v: note %q does not name the store", c, got.Note)
		}
		got.Note = ""
		if got != c.want {
			t.Errorf("ChooseBuilder(%s, buildkit=%v, forced=%v, needs=%v) = %+v, want %+v", c.store, c.buildkit, c.forced, c.needs, got, c.want)
		}
	}
}

func TestCompressionOnlyWhereItPays(t *testing.T) {
	text := bytes.Repeat([]byte("a layer full of text compresses well; "), 50000)
	noise := make([]byte, 2<<20)
	rand.Read(noise)
	if !pays(text) {
		t.Error("text should be compressed")
	}
	if pays(noise) {
		t.Error("random bytes should be stored as they are")
	}
	c := Open(t.TempDir(), 0, nil)
	for name, data := range map[string][]byte{"text": text, "noise": noise} {
		m, err := c.writeBlob(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if m.Zstd != (name == "text") {
			t.Errorf("%s: zstd=%v", name, m.Zstd)
		}
		if name == "text" && m.Stored > int64(len(data))/5 {
			t.Errorf("text stored in %d of %d bytes", m.Stored, len(data))
		}
		b, err := c.openBlob(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		b.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes, err %v", name, len(got), err)
		}
		// The same content again is stored once.
		m2, err := c.writeBlob(bytes.NewReader(data), int64(len(data)))
		if err != nil || m2.Digest != m.Digest || m2.Stored != m.Stored || m2.Zstd != m.Zstd {
			t.Errorf("%s: second write %+v, %v; want %+v", name, m2, err, m)
		}
	}
	des, _ := os.ReadDir(c.blobsDir())
	if len(des) != 2 {
		t.Errorf("%d blobs, want 2", len(des))
	}
}

// fakeArchive is a docker-save-like tar: a manifest, a config and layers.
func fakeArchive(t *testing.T, layers ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	var names []string
	for i, l := range layers {
		name := filepath.Join(hex.EncodeToString([]byte{byte(i)}), "layer.tar")
		tw.WriteHeader(&tar.Header{Name: filepath.Dir(name) + "/", Mode: 0o755, Typeflag: tar.TypeDir})
		add(name, l)
		names = append(names, name)
	}
	add("config.json", []byte(`{"rootfs":{}}`))
	m, _ := json.Marshal([]map[string]any{{"Config": "config.json", "Layers": names}})
	add("manifest.json", m)
	tw.Close()
	return buf.Bytes()
}

// putEntry stores an archive as an entry without an engine.
func putEntry(t *testing.T, c *Cache, id string, archive []byte, used time.Time) *Entry {
	t.Helper()
	members, err := c.split(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	e := &Entry{ID: id, Refs: []string{"test/" + id[len(id)-4:]}, Kind: KindBuild, Members: members, Saved: used}
	data, _ := json.Marshal(e)
	if err := c.writeAtomic(c.entryPath(id), data); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(c.entryPath(id), used, used)
	c.index = nil
	return e
}

func fakeID(n byte) string {
	s := sha256.Sum256([]byte{n})
	return "sha256:" + hex.EncodeToString(s[:])
}

func noise(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestArchiveRoundTripAndSharedLayers(t *testing.T) {
	c := Open(t.TempDir(), 0, nil)
	base, top1, top2 := noise(200<<10), noise(100<<10), noise(100<<10)
	a1, a2 := fakeArchive(t, base, top1), fakeArchive(t, base, top2)
	e1 := putEntry(t, c, fakeID(1), a1, time.Now())
	putEntry(t, c, fakeID(2), a2, time.Now())
	des, _ := os.ReadDir(c.blobsDir())
	if len(des) != 3 {
		t.Errorf("%d blobs for two images sharing a base layer, want 3", len(des))
	}
	var out bytes.Buffer
	if err := c.writeArchive(&out, e1, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	// The stream read back has the same members with the same content.
	want, got := tarFiles(t, a1), tarFiles(t, out.Bytes())
	if len(got) != len(want) {
		t.Fatalf("members: got %d, want %d", len(got), len(want))
	}
	for name, data := range want {
		if !bytes.Equal(got[name], data) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
}

func tarFiles(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = b
	}
}

func TestDamagedArchiveIsReportedOnceAndRemoved(t *testing.T) {
	c := Open(t.TempDir(), 0, nil)
	var warnings []string
	c.Warn = func(msg string) { warnings = append(warnings, msg) }
	e := putEntry(t, c, fakeID(3), fakeArchive(t, noise(300<<10)), time.Now())
	var blob Member
	for _, m := range e.Members {
		if m.Blob {
			blob = m
		}
	}
	// Truncated: caught by size before any transfer.
	os.Truncate(c.blobPath(blob.Digest, blob.Zstd), blob.Stored/2)
	if c.Has(e.ID) || c.Has(e.ID) {
		t.Fatal("a truncated archive counts as present")
	}
	if _, ok := c.Lookup(e.Refs[0]); ok {
		t.Fatal("a truncated archive is found by name")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "damaged") {
		t.Fatalf("warnings %q, want one", warnings)
	}
	if _, err := os.Stat(c.entryPath(e.ID)); !os.IsNotExist(err) {
		t.Error("the damaged entry is still there")
	}

	// Corrupt at the same size: caught by the digest while streaming.
	e = putEntry(t, c, fakeID(4), fakeArchive(t, noise(300<<10)), time.Now())
	for _, m := range e.Members {
		if m.Blob {
			blob = m
		}
	}
	p := c.blobPath(blob.Digest, blob.Zstd)
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	os.WriteFile(p, data, 0o644)
	err := c.writeArchive(io.Discard, e, nil, 0, nil)
	var be *blobError
	if err == nil || !strings.Contains(err.Error(), "does not match") || !asBlobError(err, &be) {
		t.Fatalf("streaming a corrupt layer: %v", err)
	}
}

func asBlobError(err error, be **blobError) bool {
	b, ok := err.(*blobError)
	*be = b
	return ok
}

func TestPruneDropsLeastRecentlyUsed(t *testing.T) {
	c := Open(t.TempDir(), 0, nil)
	now := time.Now()
	old := putEntry(t, c, fakeID(5), fakeArchive(t, noise(400<<10)), now.Add(-3*time.Hour))
	mid := putEntry(t, c, fakeID(6), fakeArchive(t, noise(400<<10)), now.Add(-2*time.Hour))
	recent := putEntry(t, c, fakeID(7), fakeArchive(t, noise(400<<10)), now.Add(-time.Hour))
	total := c.diskSize()
	if total < 1200<<10 {
		t.Fatalf("cache is %d bytes", total)
	}
	dropped, err := c.Prune(context.Background(), 600<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 2 || dropped[0].ID != old.ID || dropped[1].ID != mid.ID {
		t.Fatalf("dropped %v, want the two oldest", dropped)
	}
	if size := c.diskSize(); size > 600<<10 {
		t.Errorf("after prune %d bytes, over the budget", size)
	}
	if !c.Has(recent.ID) {
		t.Error("the most recently used entry was dropped")
	}
	des, _ := os.ReadDir(c.blobsDir())
	if len(des) != 1 {
		t.Errorf("%d blobs left, want the recent entry's one", len(des))
	}
}
