package imagecache

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
)

// LoadOptions tune a load.
type LoadOptions struct {
	// Have names images the engine has that may share the entry's base
	// layers. With SkipShared, the layers of the longest shared chain are
	// sent empty: the classic image store checks a layer chain before it
	// reads the layer's file, so they are never read.
	Have       []string
	SkipShared bool
	Progress   Progress
	// Ref is the name the image is loaded for. It is made to point at the
	// image even if it names another one now: the caller asked for this
	// image ID under that name.
	Ref string
	// Tags are more names made to point at the image (a build's tags).
	Tags []string
	// OnlyRef tags Ref (and Tags) alone, not the entry's other names (an
	// old image loaded as a cache source must not take names back).
	OnlyRef bool
}

// Load makes the engine have image id, from its archive, unless it has it
// already. Ref and Tags are made to point at it; the entry's other refs
// are tagged where the engine lacks them. It reports whether the engine
// has the image afterwards. A damaged archive is reported once and
// removed, and Load returns false with no error. An error the engine
// reports (a full disk, a restart) is returned and the archive kept.
func (c *Cache) Load(ctx context.Context, cli *docker.Client, id string, opt LoadOptions) (bool, error) {
	unlock, err := c.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	e := c.entry(id)
	have, err := cli.ImageID(ctx, id)
	if err != nil {
		return false, err
	}
	if have == "" {
		if !c.usable(e) {
			return false, nil
		}
		if ok, err := c.load(ctx, cli, e, opt); !ok || err != nil {
			return ok, err
		}
	}
	force := append([]string{opt.Ref}, opt.Tags...)
	if err := tagRefs(ctx, cli, id, force, true); err != nil {
		return true, err
	}
	if e != nil && !opt.OnlyRef {
		if err := tagRefs(ctx, cli, id, e.Refs, false); err != nil {
			return true, err
		}
	}
	if e != nil {
		c.touch(e)
	}
	return true, nil
}

// load streams the entry into docker load, first without the layers the
// engine shares (if allowed), then whole if that failed. Only a fault of
// the archive drops it: the engine failing to take a whole archive says
// nothing about the archive.
func (c *Cache) load(ctx context.Context, cli *docker.Client, e *Entry, opt LoadOptions) (bool, error) {
	skip := map[string]bool{}
	if opt.SkipShared {
		skip = c.shared(ctx, cli, e, opt.Have)
	}
	for {
		werr, lerr := c.stream(ctx, cli, e, skip, opt.Progress)
		var be *blobError
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case errors.As(werr, &be):
			c.drop(e, werr, &be.m, false)
			return false, nil
		case werr != nil:
			return false, fmt.Errorf("image cache: loading %s: %w", ShortID(e.ID), werr)
		case lerr != nil && len(skip) > 0:
			skip = map[string]bool{} // a shared chain went away meanwhile: send everything
			continue
		case lerr != nil:
			return false, fmt.Errorf("image cache: loading %s: the engine failed: %w", ShortID(e.ID), lerr)
		}
		got, err := cli.ImageID(ctx, e.ID)
		if err != nil {
			return false, err
		}
		if got == "" {
			c.drop(e, errors.New("docker load did not produce the image"), nil, false)
			return false, nil
		}
		return true, nil
	}
}

// shared returns the digests of the entry's layers that the engine holds
// as the same chain, judged from the images in have.
func (c *Cache) shared(ctx context.Context, cli *docker.Client, e *Entry, have []string) map[string]bool {
	best := 0
	for _, ref := range append(c.related(e), have...) {
		img, err := cli.ImageInspect(ctx, ref)
		if err != nil {
			continue
		}
		n := 0
		for n < len(img.RootFS.Layers) && n < len(e.Layers) && img.RootFS.Layers[n] == e.Layers[n] {
			n++
		}
		best = max(best, n)
	}
	skip := map[string]bool{}
	for _, l := range e.Layers[:best] {
		skip[strings.TrimPrefix(l, "sha256:")] = true
	}
	// A diff that also occurs above the shared chain must be sent.
	for _, l := range e.Layers[best:] {
		delete(skip, strings.TrimPrefix(l, "sha256:"))
	}
	return skip
}

// related lists other saved images that share base layers with e, the
// most shared first: the engine may have them.
func (c *Cache) related(e *Entry) []string {
	type cand struct {
		id string
		n  int
	}
	var cs []cand
	for _, o := range c.loadIndex() {
		n := 0
		for n < len(o.Layers) && n < len(e.Layers) && o.Layers[n] == e.Layers[n] {
			n++
		}
		if n > 0 && o.ID != e.ID {
			cs = append(cs, cand{o.ID, n})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int { return b.n - a.n })
	out := make([]string, 0, min(len(cs), 8))
	for i := 0; i < len(cs) && i < 8; i++ {
		out = append(out, cs[i].id)
	}
	return out
}

// blobError is a blob that could not be read back whole.
type blobError struct {
	m   Member
	err error
}

func (b *blobError) Error() string { return b.err.Error() }
func (b *blobError) Unwrap() error { return b.err }

// stream writes the archive into docker load. werr is a fault of the
// archive, lerr one the engine reported.
func (c *Cache) stream(ctx context.Context, cli *docker.Client, e *Entry, skip map[string]bool, progress Progress) (werr, lerr error) {
	var total int64
	for _, m := range e.Members {
		if !skip[m.Digest] {
			total += m.Size
		}
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := c.writeArchive(pw, e, skip, total, progress)
		pw.CloseWithError(err)
		done <- err
	}()
	res, lerr := cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if lerr == nil {
		lerr = loadResult(res)
		res.Close()
	}
	pr.CloseWithError(io.ErrClosedPipe)
	werr = <-done
	if errors.Is(werr, io.ErrClosedPipe) {
		werr = nil // the engine stopped reading: its error says why
	}
	return werr, lerr
}

// writeArchive writes the entry back as a tar stream.
func (c *Cache) writeArchive(w io.Writer, e *Entry, skip map[string]bool, total int64, progress Progress) error {
	cw := &countWriter{w: w, total: total, progress: progress}
	tw := tar.NewWriter(cw)
	for _, m := range e.Members {
		hdr := &tar.Header{Name: m.Name, Typeflag: m.Type, Mode: m.Mode, Linkname: m.Link, Size: m.Size, Format: tar.FormatPAX}
		if m.Type != tar.TypeReg {
			hdr.Size = 0
		}
		omit := m.Type == tar.TypeReg && skip[m.Digest]
		if omit {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if omit || m.Type != tar.TypeReg {
			continue
		}
		if !m.Blob {
			if _, err := tw.Write(m.Data); err != nil {
				return err
			}
			continue
		}
		if err := c.copyBlob(tw, m); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (c *Cache) copyBlob(w io.Writer, m Member) error {
	b, err := c.openBlob(m)
	if err != nil {
		return &blobError{m, err}
	}
	defer b.Close()
	if _, err := io.Copy(w, b); err != nil {
		if errors.Is(err, errCorrupt) {
			return &blobError{m, err}
		}
		return err
	}
	return nil
}

// loadResult reads docker load's JSON messages and returns the error one
// of them carries.
func loadResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading docker load's answer: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// tagRefs gives id each ref: with force, also a ref that names another
// image now; else only refs the engine lacks.
func tagRefs(ctx context.Context, cli *docker.Client, id string, refs []string, force bool) error {
	for _, ref := range refs {
		if ref == "" || strings.HasPrefix(ref, "sha256:") {
			continue
		}
		got, err := cli.ImageID(ctx, ref)
		if err != nil || got == id || got != "" && !force {
			continue
		}
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref}); err != nil {
			return fmt.Errorf("image cache: tagging %s as %s: %w", ShortID(id), ref, err)
		}
	}
	return nil
}

// countWriter counts bytes for progress reports.
type countWriter struct {
	w        io.Writer
	n, total int64
	progress Progress
	last     int64
}

func (w *countWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += int64(n)
	if w.progress != nil && (w.n-w.last > 8<<20 || w.n >= w.total) {
		w.last = w.n
		w.progress(min(w.n, w.total), w.total)
	}
	return n, err
}
