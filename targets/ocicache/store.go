package ocicache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/dtask-dev/dtask/internal/atomicfile"
)

// Annotations dtask puts on the descriptors of index.json.
const (
	// AnnotationRef is the tag an entry is served under.
	AnnotationRef = "org.opencontainers.image.ref.name"
	// AnnotationImageID is the engine's image ID the entry was saved
	// from, so that a consumer can ask for the image it recorded.
	AnnotationImageID = "dev.dtask.image.id"
)

// Locker is the inter-process lock around index.json updates.
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// Store is an OCI image layout: blobs/sha256/<hex>, named by content, and
// index.json naming the manifests. A blob is written once, through a
// temporary file and a rename, so readers never see half of one and
// images share their common layers.
type Store struct {
	dir  string
	lock Locker
	mu   sync.Mutex // index.json updates in this process
}

// Open returns the store in dir; nothing is created until something is
// written. lock may be nil (tests, one process).
func Open(dir string, lock Locker) *Store { return &Store{dir: dir, lock: lock} }

// Dir is the layout's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex)
}

// BlobSize returns a blob's size, or an error wrapping os.ErrNotExist.
func (s *Store) BlobSize(h v1.Hash) (int64, error) {
	if !validHash(h) {
		return 0, fmt.Errorf("blob %s: %w", h, os.ErrNotExist)
	}
	fi, err := os.Stat(s.blobPath(h))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// OpenBlob opens a blob for reading.
func (s *Store) OpenBlob(h v1.Hash) (io.ReadCloser, error) {
	if !validHash(h) {
		return nil, fmt.Errorf("blob %s: %w", h, os.ErrNotExist)
	}
	return os.Open(s.blobPath(h))
}

// ReadBlob reads a small blob (a manifest, a config) whole.
func (s *Store) ReadBlob(h v1.Hash) ([]byte, error) {
	if !validHash(h) {
		return nil, fmt.Errorf("blob %s: %w", h, os.ErrNotExist)
	}
	return os.ReadFile(s.blobPath(h))
}

func validHash(h v1.Hash) bool {
	_, err := hex.DecodeString(h.Hex)
	return h.Algorithm == "sha256" && len(h.Hex) == 64 && err == nil
}

// PutBytes stores b as a blob.
func (s *Store) PutBytes(b []byte) (v1.Descriptor, error) {
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if _, err := s.BlobSize(h); err == nil {
		return v1.Descriptor{Digest: h, Size: int64(len(b))}, nil
	}
	w, err := s.newBlob()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if _, err := w.Write(b); err != nil {
		w.abort()
		return v1.Descriptor{}, err
	}
	return w.commit(nil)
}

// blobWriter writes a blob of not yet known digest to a temporary file.
type blobWriter struct {
	s    *Store
	f    *os.File
	h    hash.Hash
	n    int64
	head []byte // the first bytes, to tell a compressed layer
}

func (s *Store) newBlob() (*blobWriter, error) {
	tmp := filepath.Join(s.dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmp, "blob-*")
	if err != nil {
		return nil, err
	}
	return &blobWriter{s: s, f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if len(w.head) < 8 {
		w.head = append(w.head, p[:min(len(p), 8-len(w.head))]...)
	}
	w.h.Write(p)
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *blobWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// commit moves the blob to its place. want, if set, is the digest the
// blob must have (a member named by digest).
func (w *blobWriter) commit(want *v1.Hash) (v1.Descriptor, error) {
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return v1.Descriptor{}, err
	}
	if want != nil && *want != h {
		os.Remove(w.f.Name())
		return v1.Descriptor{}, fmt.Errorf("blob named %s has digest %s", want, h)
	}
	d := v1.Descriptor{Digest: h, Size: w.n}
	if _, err := w.s.BlobSize(h); err == nil {
		os.Remove(w.f.Name())
		return d, nil
	}
	dst := w.s.blobPath(h)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(w.f.Name())
		return v1.Descriptor{}, err
	}
	if err := os.Rename(w.f.Name(), dst); err != nil {
		os.Remove(w.f.Name())
		return v1.Descriptor{}, err
	}
	return d, nil
}

// Index reads index.json; a missing or damaged one is an empty index.
func (s *Store) Index() *v1.IndexManifest {
	idx := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	b, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if err != nil {
		return idx
	}
	var got v1.IndexManifest
	if json.Unmarshal(b, &got) != nil {
		return idx
	}
	got.SchemaVersion, got.MediaType = 2, types.OCIImageIndex
	return &got
}

// Tag names desc by ref (a registry tag), replacing what ref named.
func (s *Store) Tag(ctx context.Context, ref string, desc v1.Descriptor) error {
	return s.update(ctx, func(idx *v1.IndexManifest) {
		ann := map[string]string{AnnotationRef: ref, AnnotationUsed: time.Now().UTC().Format(time.RFC3339Nano)}
		for k, v := range desc.Annotations {
			if k != AnnotationRef && k != AnnotationUsed {
				ann[k] = v
			}
		}
		desc.Annotations = ann
		kept := idx.Manifests[:0]
		for _, d := range idx.Manifests {
			if d.Annotations[AnnotationRef] != ref {
				kept = append(kept, d)
			}
		}
		idx.Manifests = append(kept, desc)
	})
}

// Untag removes the entries refs name; their blobs stay until a prune.
func (s *Store) Untag(ctx context.Context, refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	return s.update(ctx, func(idx *v1.IndexManifest) {
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool {
			return slices.Contains(refs, d.Annotations[AnnotationRef])
		})
	})
}

// update changes index.json under the lock and writes it atomically.
func (s *Store) update(ctx context.Context, change func(*v1.IndexManifest)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		unlock, err := s.lock.Lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	idx := s.Index()
	change(idx)
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(s.dir, "index.json"), b); err != nil {
		return err
	}
	layout := filepath.Join(s.dir, "oci-layout")
	if _, err := os.Stat(layout); errors.Is(err, os.ErrNotExist) {
		return writeAtomic(layout, []byte(`{"imageLayoutVersion":"1.0.0"}`))
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	return atomicfile.Write(path, b, atomicfile.Beside(path))
}

// Resolve returns the entry ref names, if it and its blobs are there.
func (s *Store) Resolve(ref string) (v1.Descriptor, bool) {
	return s.find(func(d v1.Descriptor) bool { return d.Annotations[AnnotationRef] == ref })
}

// ByImageID returns the newest entry saved from engine image id.
func (s *Store) ByImageID(id string) (v1.Descriptor, bool) {
	return s.find(func(d v1.Descriptor) bool { return d.Annotations[AnnotationImageID] == id })
}

func (s *Store) find(match func(v1.Descriptor) bool) (v1.Descriptor, bool) {
	idx := s.Index()
	for i := len(idx.Manifests) - 1; i >= 0; i-- {
		d := idx.Manifests[i]
		if match(d) && s.complete(d) {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// complete says every blob the entry needs is there with its size: a
// cache folder restored in part is a miss, never a broken pull.
func (s *Store) complete(d v1.Descriptor) bool {
	if n, err := s.BlobSize(d.Digest); err != nil || n != d.Size {
		return false
	}
	b, err := s.ReadBlob(d.Digest)
	if err != nil {
		return false
	}
	if d.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(strings.NewReader(string(b)))
		if err != nil {
			return false
		}
		for _, c := range im.Manifests {
			if !s.complete(c) {
				return false
			}
		}
		return true
	}
	m, err := v1.ParseManifest(strings.NewReader(string(b)))
	if err != nil {
		return false
	}
	for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if n, err := s.BlobSize(l.Digest); err != nil || n != l.Size {
			return false
		}
	}
	return true
}
