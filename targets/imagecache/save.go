package imagecache

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/dtask-dev/dtask/targets/docker"
)

// inlineMax: members up to this size (manifests, configs, empty layers)
// are kept in the entry file; larger ones become shared blobs.
const inlineMax = 64 << 10

// Progress is told how many bytes of total have been moved.
type Progress func(done, total int64)

// ErrTooLarge says an image was not saved because it alone exceeds the
// cache's size budget: saving it would only have the prune drop it again.
var ErrTooLarge = errors.New("larger than the image cache's budget")

// Save stores the image id (docker save) unless an archive of that ID is
// already there, in which case only its refs are updated. It reports
// whether it transferred the image. An image larger than MaxSize is not
// saved (ErrTooLarge).
func (c *Cache) Save(ctx context.Context, cli *docker.Client, id string, info Info, progress Progress) (bool, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if e := c.entry(id); c.usable(e) {
		c.addRefs(e, info)
		return false, nil
	}
	img, err := cli.ImageInspect(ctx, id)
	if err != nil {
		return false, fmt.Errorf("image cache: inspecting %s: %w", ShortID(id), err)
	}
	if img.Size > c.MaxSize {
		return false, fmt.Errorf("image cache: not saving %s (%s): %w (%s)", ShortID(id), FormatSize(img.Size), ErrTooLarge, FormatSize(c.MaxSize))
	}
	e := &Entry{ID: img.ID, Refs: info.Refs, Kind: info.Kind, Target: info.Target, Layers: img.RootFS.Layers, Saved: time.Now()}
	rc, err := cli.ImageSave(ctx, []string{img.ID})
	if err != nil {
		return false, fmt.Errorf("image cache: saving %s: %w", ShortID(id), err)
	}
	defer rc.Close()
	cr := &countReader{r: rc, total: img.Size, progress: progress}
	if e.Members, err = c.split(cr); err != nil {
		return false, fmt.Errorf("image cache: saving %s: %w", ShortID(id), err)
	}
	data, err := json.Marshal(e)
	if err == nil {
		err = c.writeAtomic(c.entryPath(e.ID), data)
	}
	if err != nil {
		return false, fmt.Errorf("image cache: saving %s: %w", ShortID(id), err)
	}
	e.Used = time.Now()
	c.loadIndex()[e.ID] = e
	c.pruneLocked(c.MaxSize)
	return true, nil
}

// split reads a docker-save stream into members, large ones as blobs.
func (c *Cache) split(r io.Reader) ([]Member, error) {
	tr := tar.NewReader(r)
	var out []Member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := Member{Name: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, Link: hdr.Linkname}
		if hdr.Typeflag == tar.TypeReg {
			if hdr.Size > inlineMax {
				bm, err := c.writeBlob(tr, hdr.Size)
				if err != nil {
					return nil, err
				}
				bm.Name, bm.Type, bm.Mode = m.Name, m.Type, m.Mode
				m = bm
			} else {
				data, err := io.ReadAll(tr)
				if err != nil {
					return nil, err
				}
				sum := sha256.Sum256(data)
				m.Data, m.Size, m.Digest = data, int64(len(data)), hex.EncodeToString(sum[:])
			}
		}
		out = append(out, m)
	}
}

// addRefs records new names for an image already saved.
func (c *Cache) addRefs(e *Entry, info Info) {
	for _, r := range info.Refs {
		if !slices.Contains(e.Refs, r) {
			e.Refs = append(e.Refs, r)
		}
	}
	// The newest entry naming a ref is the one a lookup finds: an image
	// named again (a branch switched back) becomes it.
	e.Saved = time.Now()
	if data, err := json.Marshal(e); err == nil {
		_ = c.writeAtomic(c.entryPath(e.ID), data)
	}
	c.touch(e)
}

// countReader counts bytes for progress reports.
type countReader struct {
	r        io.Reader
	n, total int64
	progress Progress
	last     time.Time
}

func (r *countReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.progress != nil && (time.Since(r.last) > 200*time.Millisecond || err != nil) {
		r.last = time.Now()
		r.progress(r.n, max(r.total, r.n))
	}
	return n, err
}
