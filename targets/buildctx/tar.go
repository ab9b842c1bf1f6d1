package buildctx

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/go-archive"
)

// copyBuf is the per-tar copy buffer: large enough to keep the engine's
// socket busy, small enough that a 1 GB context costs no memory.
const copyBuf = 1 << 20

// Tar streams the context as the CLI's tar: uid/gid 0, PAX headers,
// hard links as links, security.capability kept, and an outside
// Dockerfile added under Name with .dockerignore told to drop it. Nothing
// is held in memory beyond one buffer; closing the reader stops the writer.
//
// forBuildKit leaves out a .dockerignore that excludes itself: BuildKit
// does not apply .dockerignore to an uploaded context, so that is the only
// way to keep it out of COPY, as docker buildx does.
func (c *Context) Tar(forBuildKit bool) *Stream {
	pr, pw := io.Pipe()
	s := &Stream{PipeReader: pr, done: make(chan struct{})}
	go func() {
		s.err = c.writeTar(pw, forBuildKit && c.IgnoreHidden)
		close(s.done)
		pw.CloseWithError(s.err)
	}()
	return s
}

// Stream is the tar being written.
type Stream struct {
	*io.PipeReader
	done chan struct{}
	err  error
}

// Err returns why writing the tar failed, if it has failed by now: the
// cause behind a request that broke off while sending it.
func (s *Stream) Err() error {
	select {
	case <-s.done:
		if errors.Is(s.err, io.ErrClosedPipe) {
			return nil
		}
		return s.err
	default:
		return nil
	}
}

// writeTar writes the whole tar to w.
func (c *Context) writeTar(w io.Writer, skipIgnore bool) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, copyBuf)
	seen := map[[2]uint64]string{}
	hasIgnore := false
	for _, e := range c.Entries {
		if skipIgnore && e.Path == ".dockerignore" {
			continue
		}
		if c.Outside && e.Path == ".dockerignore" && e.Mode.IsRegular() {
			hasIgnore = true
			if err := c.writeIgnore(tw, e); err != nil {
				return err
			}
			continue
		}
		if err := c.writeEntry(tw, e, seen, buf); err != nil {
			return err
		}
	}
	if c.Outside {
		if err := c.writeOutside(tw, hasIgnore); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (c *Context) writeEntry(tw *tar.Writer, e Entry, seen map[[2]uint64]string, buf []byte) error {
	abs := filepath.Join(c.Dir, filepath.FromSlash(e.Path))
	fi, err := os.Lstat(abs)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(abs); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
	}
	hdr, err := archive.FileInfoHeader(e.Path, fi, link)
	if err != nil {
		return fmt.Errorf("build context %s: %w", e.Path, err)
	}
	if err := archive.ReadSecurityXattrToTarHeader(abs, hdr); err != nil {
		return fmt.Errorf("build context %s: %w", e.Path, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() && st.Nlink > 1 {
		id := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := seen[id]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			seen[id] = hdr.Name
		}
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(tw, io.LimitReader(f, hdr.Size), buf)
	if err == nil && n < hdr.Size {
		err = fmt.Errorf("%s shrank while it was sent", e.Path)
	}
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	return nil
}

// writeIgnore sends .dockerignore with the outside Dockerfile's name
// appended, as the CLI does, so that the builder drops it from COPY . .
func (c *Context) writeIgnore(tw *tar.Writer, e Entry) error {
	abs := filepath.Join(c.Dir, ".dockerignore")
	fi, err := os.Lstat(abs)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	b = append(b, "\n"+c.Name+"\n"...)
	hdr, err := archive.FileInfoHeader(".dockerignore", fi, "")
	if err != nil {
		return err
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	return writeFile(tw, hdr, b)
}

// writeOutside adds the outside Dockerfile (and a .dockerignore naming it
// when the context has none).
func (c *Context) writeOutside(tw *tar.Writer, hasIgnore bool) error {
	b, err := os.ReadFile(c.Dockerfile)
	if err != nil {
		return fmt.Errorf("dockerfile: %w", err)
	}
	now := time.Now().Truncate(time.Second)
	if !hasIgnore {
		hdr := &tar.Header{Name: ".dockerignore", Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := writeFile(tw, hdr, []byte("\n"+c.Name+"\n")); err != nil {
			return err
		}
	}
	hdr := &tar.Header{Name: c.Name, Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	return writeFile(tw, hdr, b)
}

func writeFile(tw *tar.Writer, hdr *tar.Header, b []byte) error {
	hdr.Size = int64(len(b))
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	return nil
}
