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
	// Ref is the name the image is loaded for; it is tagged even if the
	// entry does not list it.
	Ref string
	// OnlyRef tags Ref alone, not the entry's other names (an old image
	// loaded as a cache source must not take names back).
	OnlyRef bool
}

// Load makes the engine have image id, from its archive, unless it has it
// already; the entry's refs the engine lacks are tagged. It reports
// whether the engine has the image afterwards. A damaged archive is
// reported once and removed, and Load returns false with no error.
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
	refs := e.refsPlus(opt.Ref)
	if e == nil || opt.OnlyRef {
		refs = []string{opt.Ref}
	}
	if err := tagMissing(ctx, cli, id, refs); err != nil {
		return true, err
	}
	if e != nil {
		c.touch(e)
	}
	return true, nil
}

func (e *Entry) refsPlus(ref string) []string {
	if e == nil {
		return nil
	}
	if ref == "" || slices.Contains(e.Refs, ref) {
		return e.Refs
	}
	return append(slices.Clip(e.Refs), ref)
}

// load streams the entry into docker load, first without the layers the
// engine shares (if allowed), then whole if that failed.
func (c *Cache) load(ctx context.Context, cli *docker.Client, e *Entry, opt LoadOptions) (bool, error) {
	skip := map[string]bool{}
	if opt.SkipShared {
		skip = c.shared(ctx, cli, e, opt.Have)
	}
	for {
		werr, lerr := c.stream(ctx, cli, e, skip, opt.Progress)
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case werr != nil:
			var bad *Member
			var be *blobError
			if errors.As(werr, &be) {
				bad = &be.m
			}
			c.drop(e, werr, bad)
			return false, nil
		case lerr != nil && len(skip) > 0:
			skip = map[string]bool{} // a shared chain went away meanwhile: send everything
			continue
		case lerr != nil:
			c.drop(e, lerr, nil)
			return false, nil
		}
		got, err := cli.ImageID(ctx, e.ID)
		if err != nil {
			return false, err
		}
		if got == "" {
			c.drop(e, errors.New("docker load did not produce the image"), nil)
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

// tagMissing gives id each ref the engine does not have.
func tagMissing(ctx context.Context, cli *docker.Client, id string, refs []string) error {
	for _, ref := range refs {
		if ref == "" || strings.HasPrefix(ref, "sha256:") {
			continue
		}
		got, err := cli.ImageID(ctx, ref)
		if err != nil || got != "" {
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
