package ocicache

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// AnnotationUsed is when an entry was last saved or used (RFC 3339, nanoseconds): the
// order in which Prune drops entries, least recently used first.
const AnnotationUsed = "dev.dtask.used"

// youngBlob is how long a blob no entry names is kept: a save in another
// process writes its blobs before it names them in index.json.
const youngBlob = time.Hour

// Touch marks the entries refs name as used now.
func (s *Store) Touch(ctx context.Context, refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	return s.update(ctx, func(idx *v1.IndexManifest) {
		for i, d := range idx.Manifests {
			if d.Annotations != nil && slices.Contains(refs, d.Annotations[AnnotationRef]) {
				d.Annotations[AnnotationUsed] = now
				idx.Manifests[i] = d
			}
		}
	})
}

// Pruned is what Prune did.
type Pruned struct {
	Dropped []string // refs of the entries dropped
	Blobs   int      // blobs removed
	Size    int64    // bytes the layout's blobs take after
}

// Prune drops the least recently used entries until the blobs the rest
// need fit in max bytes, and removes every blob no entry needs (but for
// young ones, which a save may be about to name).
func (s *Store) Prune(ctx context.Context, max int64) (Pruned, error) {
	var out Pruned
	if _, err := os.Stat(filepath.Join(s.dir, "index.json")); err != nil {
		return out, nil // no layout: nothing to prune, and none made
	}
	err := s.update(ctx, func(idx *v1.IndexManifest) {
		sizes := s.blobSizes()
		slices.SortStableFunc(idx.Manifests, func(a, b v1.Descriptor) int {
			return compareUsed(a.Annotations[AnnotationUsed], b.Annotations[AnnotationUsed])
		})
		for {
			need := s.reachable(idx.Manifests)
			total := int64(0)
			for h, n := range sizes {
				if need[h] {
					total += n
				}
			}
			out.Size = total
			if total <= max || len(idx.Manifests) == 0 {
				out.Blobs = s.removeUnneeded(sizes, need)
				return
			}
			out.Dropped = append(out.Dropped, idx.Manifests[0].Annotations[AnnotationRef])
			idx.Manifests = idx.Manifests[1:]
		}
	})
	return out, err
}

// compareUsed orders used times, a missing one (never used) first.
func compareUsed(a, b string) int {
	ta, _ := time.Parse(time.RFC3339, a)
	tb, _ := time.Parse(time.RFC3339, b)
	return ta.Compare(tb)
}

// blobSizes lists the blobs on disk (hex -> bytes).
func (s *Store) blobSizes() map[string]int64 {
	out := map[string]int64{}
	ents, _ := os.ReadDir(filepath.Join(s.dir, "blobs", "sha256"))
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			out[e.Name()] = fi.Size()
		}
	}
	return out
}

// reachable is every blob the entries need (hex -> true).
func (s *Store) reachable(entries []v1.Descriptor) map[string]bool {
	need := map[string]bool{}
	var walk func(d v1.Descriptor)
	walk = func(d v1.Descriptor) {
		if need[d.Digest.Hex] {
			return
		}
		need[d.Digest.Hex] = true
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return
		}
		b, err := s.ReadBlob(d.Digest)
		if err != nil {
			return
		}
		if im, err := v1.ParseIndexManifest(bytes.NewReader(b)); err == nil && d.MediaType.IsIndex() {
			for _, c := range im.Manifests {
				walk(c)
			}
			return
		}
		if m, err := v1.ParseManifest(bytes.NewReader(b)); err == nil {
			for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
				need[l.Digest.Hex] = true
			}
		}
	}
	for _, d := range entries {
		walk(d)
	}
	return need
}

// removeUnneeded deletes blobs no entry needs, and temporary files a
// stopped save left, unless they are young.
func (s *Store) removeUnneeded(sizes map[string]int64, need map[string]bool) int {
	n := 0
	old := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && time.Since(fi.ModTime()) > youngBlob
	}
	for h := range sizes {
		p := filepath.Join(s.dir, "blobs", "sha256", h)
		if !need[h] && old(p) && os.Remove(p) == nil {
			n++
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(s.dir, "tmp", "blob-*"))
	for _, p := range tmps {
		if old(p) {
			os.Remove(p)
		}
	}
	return n
}
