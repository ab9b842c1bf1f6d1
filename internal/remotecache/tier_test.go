package remotecache

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/dtask-dev/dtask/engine/cache"
)

// testRegistry serves the distribution API in-process, blobs on disk so
// that a test can tamper with them or read them all.
func testRegistry(t *testing.T) (repo, blobDir string) {
	t.Helper()
	blobDir = t.TempDir()
	srv := httptest.NewServer(registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://") + "/team/cache", blobDir
}

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.lines = append(w.lines, s); w.mu.Unlock() }
func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// fakePusher plays the engine: it saves images it was given by ID.
type fakePusher struct {
	images map[string]v1.Image
	pushes int
}

func (f *fakePusher) SaveImage(ctx context.Context, id string, w io.Writer) error {
	f.pushes++
	tag, _ := name.NewTag("fake/image:latest")
	return tarball.Write(tag, f.images[id], w)
}

func newTier(t *testing.T, repo string, mode Mode, p ImageSaver, w *warnings) (*Tier, *cache.Store) {
	t.Helper()
	local, err := cache.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := Open(Config{Repo: repo, PlainHTTP: true, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	tier := NewTier(context.Background(), local, reg, mode, p, w.add)
	tier.Timeout = 5 * time.Second
	return tier, local
}

func testRecord(target, key string, out map[string]string) *cache.Record {
	return &cache.Record{
		Target: target, Kind: "build", Key: key, Time: time.Now().Round(time.Second),
		Lines:   []cache.Line{{Label: "version", Value: cache.FormatVersion}, {Label: "src a.go", Value: "abc"}},
		Outputs: out, Log: "step 1/2\nok\n",
	}
}

func key(c byte) string { return strings.Repeat(string(c), 64) }

func TestPublishThenHitOnAnotherMachine(t *testing.T) {
	repo, _ := testRegistry(t)
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigName()
	id := cfg.String()
	pusher := &fakePusher{images: map[string]v1.Image{id: img}}
	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, pusher, &w)
	if err := a.Put(testRecord("image", key('a'), map[string]string{"image": id, "tags": "app:test"})); err != nil {
		t.Fatal(err)
	}
	if msg := a.Wait(); !strings.Contains(msg, "published 1 record(s), 1 new image(s)") {
		t.Fatalf("summary %q", msg)
	}
	// The push is one plain line: what went, how much, where, how long.
	pushed := regexp.MustCompile(`^pushed 3 blobs, [0-9.]+ kB to ` + regexp.QuoteMeta(repo) + ` in [0-9.]+m?s \(image [0-9a-f]{12}\)$`)
	if ws := w.all(); len(ws) != 1 || !pushed.MatchString(ws[0]) {
		t.Fatalf("lines %q, want one matching %s", ws, pushed)
	}
	// Publishing the same image again sends nothing, and says nothing.
	if err := a.Put(testRecord("image2", key('b'), map[string]string{"image": id})); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	if pusher.pushes != 1 {
		t.Fatalf("image pushed %d times, want once", pusher.pushes)
	}

	b, bLocal := newTier(t, repo, ModeRead, nil, &w)
	b.KeepHits = true
	rec, ok := b.Get(key('a'))
	if !ok || rec.From != OriginRemote || rec.Outputs["image"] != id || rec.Target != "image" {
		t.Fatalf("remote lookup: %+v %v", rec, ok)
	}
	if _, ok := bLocal.Get(key('a')); !ok {
		t.Fatal("a remote hit was not kept locally")
	}
	ref, ok := b.ImageRef(context.Background(), id)
	d, _ := img.Digest()
	if !ok || !strings.HasSuffix(ref, "@"+d.String()) {
		t.Fatalf("image ref %q %v, want the pushed digest %s", ref, ok, d)
	}
	if _, ok := b.Get(key('c')); ok {
		t.Fatal("a key never published was a hit")
	}
	if ws := w.all(); len(ws) != 1 {
		t.Fatalf("lines: %q, want only the one push", ws)
	}
}

func TestReadOnlyLeavesRegistryUnchanged(t *testing.T) {
	repo, blobs := testRegistry(t)
	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, nil, &w)
	a.Put(testRecord("lint", key('a'), nil))
	a.Wait()
	before := snapshot(t, blobs)
	tags := listTags(t, repo)
	b, _ := newTier(t, repo, ModeRead, nil, &w)
	if _, ok := b.Get(key('a')); !ok {
		t.Fatal("read-only mode did not use the hit")
	}
	b.Put(testRecord("lint", key('d'), nil))
	if msg := b.Wait(); msg != "" {
		t.Fatalf("read-only published: %s", msg)
	}
	if after := snapshot(t, blobs); after != before {
		t.Fatalf("blobs changed in read-only mode:\n%s\n---\n%s", before, after)
	}
	if got := listTags(t, repo); strings.Join(got, ",") != strings.Join(tags, ",") {
		t.Fatalf("tags changed: %v -> %v", tags, got)
	}
}

func TestForgedRecordIsRefused(t *testing.T) {
	repo, blobs := testRegistry(t)
	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, nil, &w)
	a.Put(testRecord("test", key('a'), map[string]string{}))
	a.Wait()
	// Change the record blob in the registry's storage: a forged result.
	forged := 0
	filepath.Walk(blobs, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(`"record"`)) {
			b = bytes.Replace(b, []byte(`"kind":"build"`), []byte(`"kind":"buildx"`), 1)
			os.WriteFile(p, b, 0o644)
			forged++
		}
		return nil
	})
	if forged != 1 {
		t.Fatalf("forged %d blobs, want 1", forged)
	}
	b, _ := newTier(t, repo, ModeRead, nil, &w)
	if rec, ok := b.Get(key('a')); ok {
		t.Fatalf("forged record trusted: %+v", rec)
	}
	ws := w.all()
	if len(ws) != 1 || !strings.Contains(ws[0], "refused") || !strings.Contains(ws[0], repo) {
		t.Fatalf("warnings %q, want one naming the registry and the refusal", ws)
	}
}

func TestRegistryDownIsOneWarning(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	repo := strings.TrimPrefix(srv.URL, "http://") + "/team/cache"
	srv.Close() // nothing listens there now
	var w warnings
	tier, local := newTier(t, repo, ModeReadWrite, nil, &w)
	local.Put(testRecord("lint", key('e'), nil))
	if _, ok := tier.Get(key('e')); !ok {
		t.Fatal("local hit lost when the registry is down")
	}
	for _, c := range []byte{'a', 'b', 'c'} {
		if _, ok := tier.Get(key(c)); ok {
			t.Fatal("hit from a registry that is down")
		}
	}
	if err := tier.Put(testRecord("lint", key('f'), nil)); err != nil {
		t.Fatal(err)
	}
	tier.Wait()
	ws := w.all()
	if len(ws) != 1 || !strings.Contains(ws[0], repo) {
		t.Fatalf("warnings %q, want exactly one naming %s", ws, repo)
	}
	if _, ok := local.Get(key('f')); !ok {
		t.Fatal("the local record was not written")
	}
}

func TestNoSecretInAnyBlob(t *testing.T) {
	repo, blobs := testRegistry(t)
	const secret = "hunter2-s3cret-value"
	k := cache.NewKey("deploy")
	k.Redact = func(s string) string { return strings.ReplaceAll(s, secret, "***") }
	k.Add("env.TOKEN", secret)
	rec := testRecord("deploy", k.Sum(), nil)
	// As the engine puts it: the lines come as the key.
	rec.Lines, rec.Source = nil, k
	rec.Log = k.Redact("token is " + secret + "\n")
	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, nil, &w)
	a.Put(rec)
	a.Wait()
	b, _ := newTier(t, repo, ModeRead, nil, &w)
	if got, ok := b.Get(k.Sum()); !ok || len(got.Lines) != 3 || !strings.HasPrefix(got.Lines[2].Value, "#secret") {
		t.Errorf("published record: %+v, %v; want its three lines, the secret's masked", got, ok)
	}
	n := 0
	filepath.Walk(blobs, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		n++
		if b := readMaybeGzip(t, p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("blob %s holds the secret", p)
		}
		return nil
	})
	if n < 3 {
		t.Fatalf("only %d blobs written", n)
	}
}

func readMaybeGzip(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
		if u, err := io.ReadAll(zr); err == nil {
			return u
		}
	}
	return b
}

func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			data, _ := os.ReadFile(p)
			b.WriteString(p + " " + string(rune(len(data))) + "\n")
			b.Write(data)
		}
		return err
	})
	return b.String()
}

func listTags(t *testing.T, repo string) []string {
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func TestPruneKeepsNewestPerTargetAndTheirImages(t *testing.T) {
	repo, _ := testRegistry(t)
	pusher := &fakePusher{images: map[string]v1.Image{}}
	var ids []string
	for range 3 {
		img, _ := random.Image(256, 1)
		cfg, _ := img.ConfigName()
		pusher.images[cfg.String()] = img
		ids = append(ids, cfg.String())
	}
	var w warnings
	a, _ := newTier(t, repo, ModeReadWrite, pusher, &w)
	base := time.Now().Add(-time.Hour)
	for i, id := range ids {
		rec := testRecord("image", key(byte('a'+i)), map[string]string{"image": id})
		rec.Time = base.Add(time.Duration(i) * time.Minute)
		a.Put(rec)
		a.Wait() // in order, so that the newest is the target's latest
	}
	res, err := a.Registry().Prune(context.Background(), 2, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || res.Images != 1 || res.Kept != 2 {
		t.Fatalf("pruned %+v, want 1 record and its image, 2 kept", res)
	}
	b, _ := newTier(t, repo, ModeRead, nil, &w)
	if _, ok := b.Get(key('a')); ok {
		t.Fatal("the oldest record survived")
	}
	if _, ok := b.Get(key('c')); !ok {
		t.Fatal("the newest record was pruned")
	}
	if _, ok := b.ImageRef(context.Background(), ids[0]); ok {
		t.Fatal("the image of the pruned record survived")
	}
	if _, ok := b.ImageRef(context.Background(), ids[2]); !ok {
		t.Fatal("the image of a kept record was pruned")
	}
}
